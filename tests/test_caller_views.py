"""/stats, /members and the last-ingest report, computed over what the caller may see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import RateLimit, Settings
from ingest.pipeline import ingest
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.index import IndexDir
from tests.helpers import thread_line, write_small_corpus

pytestmark = pytest.mark.integration
KEYS = {
    "member-of-mentors": ["mentors"],
    "facilitator-of-mentors": {"groups": ["mentors"], "role": "facilitator", "name": "fm"},
    "facilitator-of-all": {"groups": ["mentors", "board"], "role": "facilitator", "name": "fa"},
}

NO_RATE_LIMIT = RateLimit(per_minute=0, per_minute_key=0)
"""These tests make many requests from one address: the rate limit has its own tests."""


def test_counts_members_and_ingest_report_follow_the_caller(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    corpus = write_small_corpus(tmp_path / "corpus")
    with (corpus / "threads.jsonl").open("a") as out:
        out.write(thread_line("p-1", "Quarry gate code", ["What is the code?", "It is 4711."],
                              visibility=["mentors"], authors=["m07", "m01"]) + "\n")
    (corpus / "board").mkdir()
    (corpus / "board" / "minutes.md").write_text("---\nvisibility: [board]\n---\n# Minutes\n\nRent rises.\n")
    (corpus / "broken.jsonl").write_text("{not json\n")
    ingest([corpus], IndexDir(tmp_path / "index"), embedder)
    settings = Settings(index_dir=tmp_path / "index", api_keys=KEYS, rate_limit=NO_RATE_LIMIT)
    with TestClient(create_app(settings)) as client:
        views = {
            who: client.get("/stats", headers={"X-API-Key": key} if key else {}).json()
            for who, key in (("anonymous", None), ("member", "member-of-mentors"),
                             ("facilitator", "facilitator-of-mentors"), ("lead", "facilitator-of-all"))
        }
        assert views["anonymous"]["counts"] == {"threads": 3, "posts": 6, "resources": 1, "chunks": 8, "members": 2}
        assert views["member"]["counts"] == {**views["anonymous"]["counts"], "threads": 4, "posts": 8,
                                             "chunks": 10, "members": 3}
        finished = {"finished_at": views["anonymous"]["created_at"]}  # the time only, as the README says
        assert finished["finished_at"].startswith("20")
        assert views["anonymous"]["last_ingest"] == finished and views["anonymous"]["size_bytes"] is None
        assert views["member"]["last_ingest"] == finished
        # the report names every group's files (board/minutes.md): only a facilitator who sees
        # every document gets it; a facilitator of mentors alone does not
        assert views["facilitator"]["last_ingest"] == finished and views["facilitator"]["size_bytes"] is None
        assert "broken.jsonl" in json.dumps(views["lead"]["last_ingest"])
        assert views["lead"]["last_ingest"]["finished_at"] == finished["finished_at"]
        assert views["lead"]["size_bytes"] > 0
        anonymous = client.get("/members").json()["members"]
        assert {m["id"] for m in anonymous} == {"m01", "m02"}
        missing, hidden = client.get("/members/nobody"), client.get("/members/m07")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["detail"] == missing.json()["detail"].replace("nobody", "m07")
        inside = client.get("/members/m07", headers={"X-API-Key": "member-of-mentors"})
        assert inside.status_code == 200 and inside.json()["questions"] == 1
