"""The writer model behind the real API (``townsquare serve`` in uvicorn, the sample index,
the real model) and the page, with the stand-in chat server: streaming over SSE, the
structured report, and private passages never sent for a caller who may not see them."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from app.settings import get_settings
from retrieval.index import IndexDir
from tests.api_server import serve_api
from tests.conftest import API_KEYS, MENTOR_KEY, ROOT
from tests.helpers import private_ids
from tests.llm_standin import Script, StandIn, a_sentence, passages_in, standin_server
from ui.render import esc

pytestmark = pytest.mark.e2e

QUESTION = "How do I keep wax moth out of stored comb?"
INVENTED = "Bees prefer jazz played at dawn, which doubles the honey crop of any hive."
PRIVATE_QUESTION = "Can I get a mentor in my first season?"
"""Answered from public posts for anyone; a mentor's top passages are mostly the mentors' own."""


@pytest.fixture(scope="module")
def served(sample_index: IndexDir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StandIn]]:
    """The API with its writer model pointed at a stand-in; yields (API URL, stand-in)."""
    folder = tmp_path_factory.mktemp("served-writer")
    shutil.copytree(sample_index.root, folder / "index")
    with standin_server() as standin:
        writer = {"TOWNSQUARE_GENERATOR__URL": standin.url, "TOWNSQUARE_GENERATOR__MODEL": "stand-in",
                  "TOWNSQUARE_GENERATOR__TIMEOUT": "5", "TOWNSQUARE_GENERATOR__API_KEY": "sk-test-secret"}
        with serve_api(folder / "index", API_KEYS, folder / "api.log", **writer) as url:
            yield url, standin


@pytest.fixture
def api(served: tuple[str, StandIn]) -> tuple[str, StandIn]:
    url, standin = served
    standin.script, standin.requests[:] = Script(), []
    return url, standin


def stream(url: str, question: str, key: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of POST /ask/stream."""
    headers = {"X-API-Key": key} if key else {}
    events, name = [], ""
    with httpx.stream("POST", f"{url}/ask/stream", json={"question": question}, headers=headers, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
    return events


def test_the_answer_streams_as_checked_sentences(api: tuple[str, StandIn]) -> None:
    url, standin = api
    standin.script = Script(lambda p: f"{a_sentence(p[1])} [1] {INVENTED} [2] {a_sentence(p[2])} [2]", chunk=4)
    events = stream(url, QUESTION)
    names = [name for name, _ in events]
    assert names == ["sentence", "sentence", "answer"]
    final = events[-1][1]
    sentences = " ".join(data["text"] for _, data in events[:-1])
    assert final["answer"].startswith(sentences) and INVENTED not in final["answer"]
    report = final["generator"]
    assert report["used"] and report["kept_sentences"] == 2 and report["removed_sentences"][0]["text"] == INVENTED
    assert "1 unsupported sentence removed" in report["note"] and report["note"] in final["answer"]
    assert [c["n"] for c in final["citations"]] == [1, 2] and final["answer_id"]
    assert standin.requests[0]["stream"] is True


def test_ask_reports_the_writer_and_falls_back_on_malformed_json(api: tuple[str, StandIn]) -> None:
    url, standin = api
    standin.script = Script(raw="{not json")
    body = httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=60).json()
    assert body["generator"]["used"] is False and body["citations"] and not body["abstained"]
    assert "not a chat reply; this is the extractive answer" in body["answer"]


def test_the_api_key_goes_to_the_endpoint_only(api: tuple[str, StandIn], served: tuple[str, StandIn],
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    url, standin = api
    standin.script = Script(lambda p: f"{a_sentence(p[1])} [1]")
    httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=60)
    assert standin.requests, "the writer model was not called"
    assert standin.auth[-1] == "Bearer sk-test-secret"
    log = next(Path(tmp_path_factory.getbasetemp()).glob("served-writer*/api.log")).read_text()
    assert "sk-test-secret" not in log


def private_sentences(index: IndexDir) -> list[str]:
    """Sentences (of some length) of every document only the mentors group may see."""
    snapshot = index.open(None)
    try:
        catalog = snapshot.catalog
        hidden = private_ids(catalog)
        posts = catalog.posts_of(hidden, ("mentors",))
        texts = [p.text for p in posts]
        chunks = catalog.chunk_ids(hidden, ("mentors",))
        infos = catalog.chunks([i for ids in chunks.values() for i in ids], ("mentors",))
        texts += [info.body for info in infos.values()]
    finally:
        snapshot.close()
    return [s for t in texts for s in re.split(r"(?<=[.!?])\s+", " ".join(t.split())) if len(s) > 40]


def sent_passages(standin: StandIn) -> str:
    return "\n".join(text for body in standin.requests for text in passages_in(body).values())


def test_private_passages_are_never_sent_for_an_outsider(api: tuple[str, StandIn], sample_index: IndexDir) -> None:
    url, standin = api
    standin.script = Script(lambda p: f"{a_sentence(p[1])} [1]")
    secret = private_sentences(sample_index)
    assert len(secret) > 20
    for question in (PRIVATE_QUESTION, "Where will the new apiary site be?"):
        stream(url, question)
        httpx.post(f"{url}/ask", json={"question": question}, timeout=60)
    assert standin.requests, "the outsider's question never reached the writer: the check proves nothing"
    outside = sent_passages(standin)
    assert not [s for s in secret if s in outside]
    standin.requests.clear()
    httpx.post(f"{url}/ask", json={"question": PRIVATE_QUESTION}, headers={"X-API-Key": MENTOR_KEY}, timeout=60)
    inside = sent_passages(standin)
    assert [s for s in secret if s in inside], "a mentor's passages should include the mentors' own documents"


def test_the_page_shows_the_written_answer(api: tuple[str, StandIn], monkeypatch: pytest.MonkeyPatch) -> None:
    url, standin = api
    standin.script = Script(lambda p: f"{a_sentence(p[1])} [1] {a_sentence(p[2])} [2]")
    monkeypatch.setenv("TOWNSQUARE_API_URL", url)
    get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "ui" / "page.py"), default_timeout=60)
    at.query_params["view"] = "ask"
    at = at.run().chat_input(key="question").set_value(QUESTION).run()
    assert not at.exception and not at.error
    shown = [m.value for m in at.markdown]
    assert any(esc("Written by stand-in") in text and "**\\[2\\]**" in text for text in shown), shown
    assert standin.requests and standin.requests[0]["stream"] is True
