"""Roles on the admin views, and questions and feedback private to their asker's groups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.activity import ActivityLog
from app.keys import KeyStore
from app.main import create_app
from app.settings import RateLimit, Settings
from retrieval.index import IndexDir

pytestmark = pytest.mark.integration
QUESTIONS = {
    "mentors": "How do I wire a hive scale to a solar panel?",
    "hosts": "Which rooftop insurance covers a garden party with goats?",
    None: "Can I paint my hive with beetroot juice?",
}

NO_RATE_LIMIT = RateLimit(per_minute=0, per_minute_key=0)
"""These tests make many requests from one address: the rate limit has its own tests."""


@pytest.fixture(scope="module")
def keys_and_client(sample_index: IndexDir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    root = tmp_path_factory.mktemp("roles") / "index"
    import shutil

    shutil.copytree(sample_index.root, root)
    store = KeyStore(root)
    keys = {
        "fac-mentors": store.add("fac-mentors", ["mentors"], "facilitator"),
        "fac-hosts": store.add("fac-hosts", ["hosts"], "facilitator"),
        "mem-mentors": store.add("mem-mentors", ["mentors"], "member"),
        "mem-hosts": store.add("mem-hosts", ["hosts"], "member"),
    }
    with TestClient(create_app(Settings(index_dir=root, rate_limit=NO_RATE_LIMIT))) as client:
        yield keys, client


def _as(keys: dict[str, str], name: str) -> dict[str, str]:
    return {"X-API-Key": keys[name]}


def test_members_get_403_and_anonymous_401_on_admin(keys_and_client: tuple) -> None:
    keys, client = keys_and_client
    for path in ("/admin/gaps", "/admin/feedback"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=_as(keys, "mem-mentors")).status_code == 403
        assert client.get(path, headers=_as(keys, "fac-mentors")).status_code == 200


def test_facilitators_see_only_questions_and_feedback_of_their_groups(keys_and_client: tuple) -> None:
    keys, client = keys_and_client
    askers = {"mentors": _as(keys, "mem-mentors"), "hosts": _as(keys, "mem-hosts"), None: {}}
    for group, question in QUESTIONS.items():
        answer_id = client.post("/ask", json={"question": question}, headers=askers[group]).json()["answer_id"]
        if group:
            feedback = {"target": "answer", "answer_id": answer_id, "helpful": False, "comment": f"note-{group}"}
            assert client.post("/feedback", json=feedback, headers=askers[group]).status_code == 201
    for viewer, own, other in (("fac-mentors", "mentors", "hosts"), ("fac-hosts", "hosts", "mentors")):
        everything = {"max_confidence": 1.0}  # every asked question counts as a gap
        gaps = json.dumps(client.get("/admin/gaps", params=everything, headers=_as(keys, viewer)).json())
        assert QUESTIONS[own] in gaps and QUESTIONS[None] in gaps and QUESTIONS[other] not in gaps
        summary = client.get("/admin/feedback", headers=_as(keys, viewer)).json()
        text = json.dumps(summary)
        assert f"note-{own}" in text and f"note-{other}" not in text and QUESTIONS[other] not in text
        assert summary["counts"] == {"answer_not_helpful": 1}


def test_feedback_on_someone_elses_answer_does_not_quote_it(tmp_path: Path) -> None:
    log = ActivityLog(tmp_path / "activity.sqlite")
    answer_id = log.record_question("secret hosts question", ("hosts",), 0.1, True, None, "mem-hosts")
    log.record_feedback("answer", True, answer_id, None, "seen", ("mentors",), "mem-mentors")
    latest = log.feedback_summary(("mentors",))["latest"]
    assert latest[0]["comment"] == "seen" and latest[0]["question"] is None
    assert log.feedback_summary(("hosts",))["latest"] == []


def test_retention_and_forget(tmp_path: Path) -> None:
    path = tmp_path / "activity.sqlite"
    log = ActivityLog(path, clock=lambda: datetime(2020, 1, 1, tzinfo=UTC))  # asked long ago
    answer_id = log.record_question("old question", (), 0.1, True, None, "ada")
    log.close()
    log = ActivityLog(path)
    log.record_feedback("answer", True, answer_id, None, "", (), None)
    log.record_question("kept question", (), 0.1, True, None, "bo")
    log.close()
    log = ActivityLog(path, retention_days=30)  # purges on open
    assert [r.question for r in log.weak_questions("2000-01-01", 1.0, ())] == []  # named keys without groups
    assert log.forget("bo") == (1, 0) and log.forget("ada") == (0, 0)
