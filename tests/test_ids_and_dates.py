"""Ids with slashes round-trip through the API and the page's client; a date-only ``until``
includes its whole day everywhere (API, /ask filters, CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest
from retrieval.errors import BadQueryError
from retrieval.filters import Filters, parse_date
from retrieval.index import IndexDir
from retrieval.library import Library
from tests.api_server import serve_api
from tests.helpers import thread_line
from ui.client import Client

DAY = "2025-04-02"


def _corpus(folder: Path) -> Path:
    """Threads with slashed ids; posts at 09:30 on DAY and the day after."""
    folder.mkdir(parents=True)
    lines = []
    for thread_id, when in (("forum/123", f"{DAY}T09:30:00Z"), ("chat/general/7", "2025-04-03T09:30:00Z")):
        line = json.loads(thread_line(thread_id, f"Propolis tincture {thread_id}",
                                      ["How do I make propolis tincture?", "Soak propolis in alcohol."]))
        for post in line["posts"]:
            post["created_at"] = when
        lines.append(json.dumps(line))
    (folder / "threads.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def slashed_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> IndexDir:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("slashed")
    index_dir = IndexDir(root / "ix")
    assert ingest([_corpus(root / "src")], index_dir, embedder).errors == 0
    return index_dir


@pytest.mark.unit
def test_a_date_only_until_means_the_end_of_that_day() -> None:
    assert parse_date(DAY, "until") == datetime(2025, 4, 2, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_date(DAY, "since") == datetime(2025, 4, 2, tzinfo=UTC)
    assert parse_date(f"{DAY}T12:00:00Z", "until") == datetime(2025, 4, 2, 12, tzinfo=UTC)
    assert parse_date("9999-12-31", "until") == datetime.max.replace(tzinfo=UTC)


@pytest.mark.integration
def test_one_day_filters_find_that_days_posts(slashed_index: IndexDir, embedder) -> None:  # type: ignore[no-untyped-def]
    day = Filters(since=parse_date(DAY, "since"), until=parse_date(DAY, "until"))
    hits = Library(slashed_index, embedder).searcher().search("propolis tincture", k=5, filters=day, collapse=False)
    assert hits and {h.doc_id for h in hits} == {"forum/123"}
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cli = subprocess.run([str(Path(sys.executable).parent / "townsquare"), "search", "propolis", "--since", DAY,
                          "--until", DAY, "--index", str(slashed_index.root)], capture_output=True, text=True,
                         timeout=180, env=env)
    assert cli.returncode == 0 and "forum/123" in cli.stdout and "chat/general/7" not in cli.stdout, cli.stderr


@pytest.mark.e2e
def test_slashed_ids_round_trip_through_the_api_and_the_page_client(slashed_index: IndexDir, tmp_path: Path) -> None:
    with serve_api(slashed_index.root, {}, tmp_path / "api.log") as url:
        for path in ("/threads/forum%2F123", "/threads/forum/123", "/threads/chat%2Fgeneral%2F7"):
            assert httpx.get(url + path, timeout=30).status_code == 200, path
        assert httpx.get(url + "/threads/forum%2F123/related", timeout=30).status_code == 200
        client = Client(url)
        assert client.thread("forum/123")["id"] == "forum/123"
        assert client.related("chat/general/7") is not None
        hits = client.search("propolis tincture")
        assert {h["thread_id"] for h in hits} == {"forum/123", "chat/general/7"}
        assert all(client.thread(h["thread_id"])["id"] == h["thread_id"] for h in hits)
        body = {"question": "propolis tincture?", "filters": {"since": DAY, "until": DAY}}
        answer = httpx.post(url + "/ask", json=body, timeout=60).json()
        assert {c["thread_id"] for c in answer["citations"] + answer["closest"]} <= {"forum/123"}
        found = httpx.get(url + "/search", params={"q": "propolis", "since": DAY, "until": DAY}, timeout=30).json()
        assert [h["thread_id"] for h in found["hits"]] == ["forum/123"]


@pytest.mark.unit
@pytest.mark.parametrize("value", ["", " ", "\t", "\n "])
def test_an_empty_or_blank_date_is_refused_naming_it(value: str) -> None:
    with pytest.raises(BadQueryError, match="^until is (empty|blank): give an ISO 8601 date"):
        parse_date(value, "until")
    assert parse_date(None, "until") is None  # not given: no limit
