"""Expert suggestions under a demanding user: private evidence, opted-out members, posts dated in
the future, members suggested on their record alone, and the asker themself (issue 13).

One small native corpus, ingested once with the real model, served by the real app
(TestClient), with keys for an insider (``mentors``), an outsider and a member asking as
themself (the key named after their member id).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.main import create_app
from app.settings import Settings
from ingest.pipeline import ingest
from retrieval.embedding import Embedder
from retrieval.experts import MemberStats, suggest_experts
from retrieval.experts_clock import serving_clock
from retrieval.index import IndexDir
from retrieval.records import Member
from tests.helpers import Community
from tests.test_experts import HAND, make_hit

pytestmark = pytest.mark.integration

MENTOR, OUTSIDER, ADA = "mentor-key-edges", "outsider-key-edges", "ada-key-edges"
KEYS: dict[str, object] = {
    MENTOR: {"groups": ["mentors"], "name": "mentor"},
    OUTSIDER: {"groups": ["outsiders"], "name": "outsider"},
    ADA: {"groups": ["outsiders"], "name": "p1"},  # keys named after member ids (README: forget)
}
MEMBERS = [("p1", "Ada Quill", False), ("p2", "Bo Marsh", False), ("p3", "Cy Fenwick", False),
           ("s1", "Sel Hidden", False), ("x1", "Mix Both", False), ("o1", "Olu Optout", True),
           ("f1", "Fay Future", False)]
PROPOLIS = "How do I make a propolis tincture with alcohol?"
WAX_MOTH = "Wax moth larvae in my stored frames: what do I do?"
VARROA = "When should I treat varroa with oxalic acid?"
EXCLUDER = "Should I put a queen excluder between the brood box and the honey supers?"
FUTURE = "2099-05-02T10:00:00Z"
"""A wrong clock: after the wall clock whenever these tests run."""
LATEST_REAL = "2025-09-22T10:00:00Z"


def thread(tid: str, title: str, posts: list[tuple[str, str, str, bool]], visibility: object = "public",
           tags: tuple[str, ...] = ("bees",)) -> dict[str, object]:
    """A native thread: posts are (author, created_at, text, accepted), the first the question."""
    return {"id": tid, "title": title, "channel": "general", "url": "", "tags": list(tags), "visibility": visibility,
            "posts": [{"id": f"{tid}-p{i}", "author": a, "created_at": d, "text": t, "accepted": acc,
                       "reply_to": None if i == 0 else f"{tid}-p0", "score": 2 if acc else 0}
                      for i, (a, d, t, acc) in enumerate(posts)]}


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "members.jsonl").write_text("".join(
        json.dumps({"id": i, "name": n, "handles": {}, "opt_out": o}) + "\n" for i, n, o in MEMBERS))
    threads = [thread(f"varroa-{n}", "Treating varroa with oxalic acid in winter", [
        ("p3", f"2025-0{n + 1}-01T10:00:00Z", "When is the right time to treat varroa with oxalic acid?", False),
        ("p1", f"2025-0{n + 1}-02T10:00:00Z", "Treat with oxalic acid in winter when the colony is broodless.", True),
    ], tags=("varroa",)) for n in range(3)]
    threads += [
        thread("paint", "Painting hive boxes", [
            ("p2", "2023-02-01T10:00:00Z", "What paint is safe for hive boxes?", False),
            ("x1", "2023-02-02T10:00:00Z", "Use exterior latex paint on the outside only.", False)]),
        thread("priv-propolis", "Propolis tincture zqsecret", [
            ("p2", "2025-09-20T10:00:00Z", "How do you make a propolis tincture with alcohol?", False),
            ("s1", "2025-09-21T10:00:00Z", "Freeze the propolis, crush it and soak it in grain alcohol for two "
                                           "weeks, shaking it daily.", True),
            ("x1", LATEST_REAL, "Filter the propolis tincture through a coffee filter into dark bottles.", False)],
            visibility=["mentors"], tags=("propolis-zqsecret",)),
        thread("wax-moth", "Wax moth in stored frames", [
            ("p3", "2025-03-01T10:00:00Z", "My stored frames have wax moth larvae. What do I do?", False),
            ("o1", "2025-03-02T10:00:00Z", "Freeze the frames for two days to kill wax moth eggs and larvae.", True)]),
        thread("excluder", "Queen excluder between brood and supers", [
            ("p3", "2025-05-01T10:00:00Z", "Should I use a queen excluder between brood and honey supers?", False),
            ("f1", FUTURE, "Yes, a queen excluder keeps brood out of the honey supers.", False),
            ("p1", "2025-05-03T10:00:00Z", "A queen excluder works; take it off in autumn for the cluster.", True)],
            tags=("gear",)),
    ]
    (folder / "threads.jsonl").write_text("".join(json.dumps(t) + "\n" for t in threads))
    return folder


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("experts-edges")
    summary = ingest([write_corpus(root / "src")], IndexDir(root / "index"), embedder)
    assert summary.errors == 0
    with TestClient(create_app(Settings(index_dir=root / "index", api_keys=KEYS))) as test_client:
        yield test_client


def experts(client: TestClient, question: str, key: str | None = None, k: int = 10) -> list[dict[str, Any]]:
    reply = client.get("/experts", params={"q": question, "k": k}, headers={"X-API-Key": key} if key else {})
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["experts"]
    return found


def asked(client: TestClient, question: str, key: str | None = None) -> dict[str, Any]:
    reply = client.post("/ask", json={"question": question, "k_experts": 10}, headers={"X-API-Key": key} if key else {})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def by_id(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["member_id"]: e for e in found}


@pytest.mark.parametrize("key", [None, OUTSIDER])
def test_private_evidence_and_private_numbers_never_reach_outsiders(client: TestClient, key: str | None) -> None:
    for question in (PROPOLIS, VARROA):
        found = experts(client, question, key)
        answer = asked(client, question, key)
        for payload in (found, answer):
            text = json.dumps(payload)
            assert "zqsecret" not in text and "priv-propolis" not in text and "Sel Hidden" not in text
            assert "2025-09-2" not in text  # no date of a private post, as evidence or as anyone's last activity
        assert "s1" not in by_id(found)
    # Mix Both's only part in anything about varroa or propolis is private; suggested on their
    # public record alone, their numbers are the public ones and the words claim no part
    mix = by_id(experts(client, VARROA, key))["x1"]
    assert mix["evidence"] == [] and mix["why_numbers"]["answers_total"] == 1
    assert mix["why_numbers"]["last_active"] == "2023-02-02T10:00:00Z"
    assert mix["why"] == "No related thread found; 1 answer in all, 0 accepted"


def test_insiders_get_the_private_evidence_and_numbers(client: TestClient) -> None:
    found = by_id(experts(client, PROPOLIS, MENTOR))
    assert [e["thread_id"] for e in found["s1"]["evidence"]] == ["priv-propolis"]
    assert found["x1"]["why_numbers"]["answers_total"] == 2
    assert found["x1"]["why_numbers"]["last_active"] == LATEST_REAL
    assert found["x1"]["why"].startswith("Answered 1 related question")
    assert by_id(asked(client, PROPOLIS, MENTOR)["experts"])["s1"]["evidence"][0]["thread_id"] == "priv-propolis"


def test_an_opted_out_member_is_not_suggested_even_as_the_only_answerer(client: TestClient) -> None:
    for key in (None, MENTOR):
        assert "o1" not in by_id(experts(client, WAX_MOTH, key))
        assert "o1" not in by_id(asked(client, WAX_MOTH, key)["experts"])


def test_a_post_dated_in_the_future_does_not_lead_or_date_anything(client: TestClient) -> None:
    for question in (EXCLUDER, VARROA):
        for key in (None, MENTOR):
            found = experts(client, question, key)
            assert found and found[0]["member_id"] == "p1", [(e["member_id"], e["why"]) for e in found]
            assert "f1" not in by_id(found)  # their one answer is dated 2099: it has not happened yet
            text = json.dumps(found)
            assert "2099-" not in text and "2099" not in " ".join(e["why"] for e in found)
            latest = LATEST_REAL if key else "2025-05-03T10:00:00Z"
            assert all((e["why_numbers"]["last_active"] or "") <= latest for e in found)


def test_the_asker_is_not_suggested_to_themself(client: TestClient) -> None:
    assert experts(client, VARROA)[0]["member_id"] == "p1"
    assert "p1" not in by_id(experts(client, VARROA, ADA))
    assert "p1" not in by_id(asked(client, VARROA, ADA)["experts"])
    assert "p1" in by_id(asked(client, VARROA, OUTSIDER)["experts"])


CJK_QUESTION = "我的蜂群在冬天之前很弱，应该和强群合并吗？"  # 22 characters, 3 UTF-8 bytes each
EMOJI_LOG = "🐝 hive scale timeout 🍯 "  # characters of 1 and 4 UTF-8 bytes


def whole(text: str, n: int = 10_000) -> str:
    return (text * (n // len(text) + 1))[:n]


@pytest.mark.parametrize("text", [CJK_QUESTION, EMOJI_LOG])
def test_a_whole_question_in_any_script_reaches_experts_over_real_http(api_server: str, text: str) -> None:
    question = whole(text)
    reply = httpx.post(f"{api_server}/experts", json={"question": question, "k": 3}, timeout=60)
    assert reply.status_code == 200, reply.text[:300]
    assert len(reply.json()["experts"]) <= 3
    too_long = httpx.post(f"{api_server}/experts", json={"question": question + "x"}, timeout=60)
    assert too_long.status_code == 422
    [error] = too_long.json()["detail"]
    assert error["loc"] == ["body", "question"] and "10000" in error["msg"]


def test_post_experts_matches_get_and_names_bad_fields(client: TestClient) -> None:
    got = client.get("/experts", params={"q": VARROA, "k": 2, "tag": "varroa"}).json()
    posted = client.post("/experts", json={"question": VARROA, "k": 2, "filters": {"tag": "varroa"}})
    assert posted.status_code == 200 and posted.json() == got and got["experts"]
    assert "p1" not in by_id(client.post("/experts", json={"question": VARROA}, headers={"X-API-Key": ADA}).json()
                             ["experts"])
    for body, field in (({"question": VARROA, "k": 0}, "k"), ({"question": VARROA, "k": True}, "k"),
                        ({"question": VARROA, "filters": {"chanel": "x"}}, "filters"),
                        ({"question": "", "k": 2}, "question"), ({"q": VARROA}, "q")):
        reply = client.post("/experts", json=body)
        assert reply.status_code == 422, body
        assert any(field in e["loc"] for e in reply.json()["detail"]), reply.json()



def test_the_command_line_says_when_nobody_stands_out(sample_index: IndexDir) -> None:
    for question in ("🐝🍯", "the and of to a is it"):
        result = CliRunner().invoke(cli, ["experts", question, "--index", str(sample_index.root)])
        assert result.exit_code == 0 and result.output.strip() == "Nobody stands out for this question.", result.output
    result = CliRunner().invoke(cli, ["experts", "How do I treat varroa in winter?", "--index", str(sample_index.root)])
    assert result.exit_code == 0 and result.output.startswith("1. ") and "Nobody" not in result.output


@pytest.mark.unit
def test_an_undated_archive_whose_only_date_is_in_the_future_says_no_last_in(tmp_path: Path) -> None:
    community = Community(tmp_path / "index")
    community.members += [Member("m01", "Ada"), Member("m02", "Fay")]
    for i in range(3):
        community.add_post(f"a{i}", "m01", "answer", None)
    community.add_post("a0", "m02", "answer", FUTURE)  # a wrong clock on an otherwise undated archive
    catalog = community.catalog()
    assert serving_clock(catalog, ()).now is None
    hits = [make_hit("m01", "a0", 0.7, created_at=""), make_hit("m02", "a0", 0.7, created_at=FUTURE)]
    found = suggest_experts(hits, catalog, k=5, weights=HAND)
    assert found[0].member_id == "m01" and "m02" not in [e.member_id for e in found]  # Fay's answer: not yet
    assert found[0].why is not None and "2099" not in found[0].why.text() and found[0].why.last_active is None
    # nor is she a candidate by her record
    assert MemberStats(catalog).leaders(serving_clock(catalog, ()), replace(HAND, prior_candidates=5)) == ["m01"]
