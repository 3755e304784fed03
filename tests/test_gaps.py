"""Grouping weak questions into knowledge gaps (``app/gaps.py``): similar questions share a
gap, people are counted once however often they ask, and questions too short to mean anything
are left out; then, from what the viewing facilitator may see, off-topic gaps are marked and
ranked last, and a gap answered in a private group is marked for facilitators of that group
only (``app/gaps.py``: ``mark_gaps``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.gaps import group_questions
from app.keys import KeyStore
from app.main import create_app
from app.settings import RateLimit, Settings
from retrieval.activity_store import AskedQuestion
from retrieval.index import IndexDir

STIPEND = "How much is the mentor stipend per season?"
"""Answered only in a thread private to the sample's mentors (mt-004)."""
OFF_TOPIC = "Who won the football world cup in 2018?"



def asked(n: int, question: str, direction: list[float], asker: str | None) -> AskedQuestion:
    vector = np.asarray(direction, dtype=np.float32)
    vector /= np.linalg.norm(vector)
    return AskedQuestion(f"q{n}", f"2026-11-{10 + n}T10:00:00Z", question, (), 0.1, True, vector.tobytes(), asker)


@pytest.mark.unit
def test_people_count_once_and_gaps_rank_by_people() -> None:
    rows = [
        asked(1, "How do I treat chalkbrood?", [1, 0, 0], "ana"),
        asked(2, "Treating chalkbrood in spring", [0.95, 0.1, 0], "ana"),
        asked(3, "chalkbrood treatment options please", [0.9, 0.2, 0], "ana"),
        asked(4, "Best wax moth trap design?", [0, 1, 0], "bo"),
        asked(5, "Wax moth traps that work", [0, 0.9, 0.1], None),
        asked(6, "Moth traps for stored frames", [0.1, 0.95, 0], None),
    ]
    gaps = group_questions(rows)
    assert [(g.label, g.count, g.askers) for g in gaps] == [
        ("Best wax moth trap design?", 3, 3),  # one key and two anonymous questions
        ("How do I treat chalkbrood?", 3, 1),  # asked three times by one person
    ]


@pytest.mark.unit
def test_questions_of_fewer_than_two_content_words_are_not_gaps() -> None:
    rows = [asked(1, "help", [1, 0, 0], "ana"), asked(2, "How do I?", [0, 1, 0], "bo"),
            asked(3, "varroa threshold", [0, 0, 1], "cy")]
    assert [g.label for g in group_questions(rows)] == ["varroa threshold"]


@pytest.fixture(scope="module")
def asked_and_keys(sample_index: IndexDir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """A served copy of the sample index where anonymous callers asked an off-topic question
    (twice, so it has the most askers), an on-topic one, and one answered only in the mentors'
    private channel."""
    root = tmp_path_factory.mktemp("gaps") / "index"
    shutil.copytree(sample_index.root, root)
    store = KeyStore(root)
    keys = {name: {"X-API-Key": store.add(name, [group], "facilitator")}
            for name, group in (("fac-mentors", "mentors"), ("fac-hosts", "hosts"))}
    settings = Settings(index_dir=root, rate_limit=RateLimit(per_minute=0, per_minute_key=0))
    with TestClient(create_app(settings)) as client:
        for question in (OFF_TOPIC, OFF_TOPIC, "Which hive tool do you recommend?", STIPEND):
            assert client.post("/ask", json={"question": question}).status_code == 200
        yield client, keys


def _gaps(client: TestClient, headers: dict[str, str], **params: object) -> dict[str, dict]:
    response = client.get("/admin/gaps", params={"max_confidence": 1.0, **params}, headers=headers)
    assert response.status_code == 200
    return {g["label"]: g for g in response.json()["gaps"]}


@pytest.mark.integration
def test_off_topic_gaps_are_marked_and_ranked_last(asked_and_keys: tuple) -> None:
    client, keys = asked_and_keys
    response = client.get("/admin/gaps", params={"max_confidence": 1.0}, headers=keys["fac-mentors"]).json()
    assert [g["label"] for g in response["gaps"]][-1] == OFF_TOPIC  # most askers, yet last
    gaps = _gaps(client, keys["fac-mentors"])
    assert gaps[OFF_TOPIC]["off_topic"] and not gaps["Which hive tool do you recommend?"]["off_topic"]
    assert gaps[OFF_TOPIC]["top_similarity"] < gaps["Which hive tool do you recommend?"]["top_similarity"]
    assert gaps[OFF_TOPIC]["private_answer"] is None  # not asked again
    assert list(_gaps(client, keys["fac-mentors"], off_topic=True)) == [OFF_TOPIC]
    assert OFF_TOPIC not in _gaps(client, keys["fac-mentors"], off_topic=False)


@pytest.mark.integration
def test_a_private_answer_is_named_only_to_facilitators_of_its_group(asked_and_keys: tuple) -> None:
    client, keys = asked_and_keys
    mentors = _gaps(client, keys["fac-mentors"])[STIPEND]
    assert [(d["doc_id"], d["groups"]) for d in mentors["private_answer"]] == [("mt-004", ["mentors"])]
    hosts = _gaps(client, keys["fac-hosts"])[STIPEND]
    assert not hosts["private_answer"] and "mt-004" not in str(hosts) and "stipend" not in str(hosts["private_answer"])
    assert _gaps(client, keys["fac-mentors"])["Which hive tool do you recommend?"]["private_answer"] == []
