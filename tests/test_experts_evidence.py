"""Posts without text count as evidence through their thread; whole questions (10,000
characters) reach /experts over real HTTP with the numbers behind each suggestion (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest
from retrieval.index import IndexDir
from retrieval.library import Library

pytestmark = pytest.mark.integration
LOG_LINE = 'ERROR [hive-scale:42] {"weight_kg": -1.0, "path": "/dev/ttyUSB0"} (retry=3/5) @ 2025-10-01T06:00:00Z\n'


def textless_corpus(folder: Path) -> Path:
    """Two threads whose answers were exported without their text (null and missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"id": "w1", "title": "Uniting a weak colony before winter", "posts": [
            {"id": "w1-q", "author": "m08", "created_at": "2024-10-01T09:00:00Z",
             "text": "My colony is weak in October. Should I unite it with a strong one before winter?"},
            {"id": "w1-a", "author": "m02", "created_at": None, "text": None, "accepted": True, "score": 5},
        ]},
        {"id": "w2", "title": "Newspaper method for uniting colonies", "posts": [
            {"id": "w2-q", "author": "m09", "created_at": "2024-10-03T09:00:00Z",
             "text": "How does the newspaper method work when uniting two colonies?"},
            {"id": "w2-a", "author": "m02", "created_at": "2024-10-04T09:00:00Z"},
        ]},
    ]
    (folder / "threads.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def test_a_post_without_text_is_stored_not_chunked_and_is_evidence(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    index_dir = IndexDir(tmp_path / "index")
    summary = ingest([textless_corpus(tmp_path / "src")], index_dir, embedder)
    assert summary.errors == 0
    catalog = index_dir.open(embedder.model_id).catalog
    posts = {p.id: p for p in catalog.posts_of(["w1", "w2"], ())}
    assert posts["w1-a"].text == "" and posts["w2-a"].text == "" and posts["w1-a"].accepted
    assert {p.id for p in posts.values()} == {"w1-q", "w1-a", "w2-q", "w2-a"}
    chunked = {c.post_id for c in catalog.chunks(sum(catalog.chunk_ids(["w1", "w2"], ()).values(), []), ()).values()}
    assert chunked == {"w1-q", "w2-q"}
    [expert, *_] = Library(index_dir, embedder).experts("Should I unite a weak colony in autumn?", k=3)
    assert expert.member_id == "m02" and expert.evidence[0].role == "accepted"
    assert expert.why is not None and expert.why.answered == 2 and expert.why.accepted == 1


def test_experts_take_a_whole_pasted_question_over_http(api_server: str) -> None:
    question = "Why does my hive scale log this every morning before the varroa count?\n"
    question += LOG_LINE * ((10_000 - len(question)) // len(LOG_LINE))
    question += "x" * (10_000 - len(question))
    assert len(question) == 10_000
    reply = httpx.get(f"{api_server}/experts", params={"q": question, "k": 3}, timeout=60)
    assert reply.status_code == 200, reply.text[:300]
    experts = reply.json()["experts"]
    assert experts and all(e["why"] and e["why_numbers"]["answers_total"] >= 0 for e in experts)
    too_long = httpx.get(f"{api_server}/experts", params={"q": question + "y", "k": 3}, timeout=60)
    assert too_long.status_code == 422 and "10000" in str(too_long.json()["detail"])
    asked = httpx.post(f"{api_server}/ask", json={"question": question}, timeout=60)
    assert asked.status_code == 200, asked.text[:300]


def test_a_native_comment_is_stored_as_a_comment_and_weak_evidence(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "src"
    folder.mkdir()
    row = {"id": "c1", "title": "Feeding syrup in a cold autumn", "posts": [
        {"id": "c1-q", "author": "m08", "created_at": "2024-10-01T09:00:00Z",
         "text": "Is it too late to feed 2:1 syrup when nights drop below 5 degrees?"},
        {"id": "c1-c", "author": "m05", "created_at": "2024-10-01T10:00:00Z", "reply_to": "c1-q", "comment": True,
         "text": "Which hive type? Fondant may be better than syrup in the cold."},
        {"id": "c1-a", "author": "m02", "created_at": "2024-10-02T09:00:00Z", "reply_to": "c1-q",
         "text": "Feed thick syrup while days are above 10 degrees, fondant after that."},
    ]}
    (folder / "threads.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    index_dir = IndexDir(tmp_path / "index")
    assert ingest([folder], index_dir, embedder).errors == 0
    catalog = index_dir.open(embedder.model_id).catalog
    roles = {c.member_id: c.role for c in catalog.contributions(["c1"], ())}
    assert roles == {"m08": "question", "m05": "comment", "m02": "answer"}
    assert dict(catalog.top_answerers((), 5)) == {"m02": 1}  # a comment is no answer
    experts = Library(index_dir, embedder).experts("When is it too late to feed syrup in autumn?", k=5)
    assert [e.member_id for e in experts][0] == "m02" and "m05" in [e.member_id for e in experts]
