"""Grouping weak questions into knowledge gaps (``app/gaps.py``): similar questions share a
gap, people are counted once however often they ask, and questions too short to mean anything
are left out."""

from __future__ import annotations

import numpy as np
import pytest

from app.gaps import group_questions
from retrieval.activity_store import AskedQuestion

pytestmark = pytest.mark.unit


def asked(n: int, question: str, direction: list[float], asker: str | None) -> AskedQuestion:
    vector = np.asarray(direction, dtype=np.float32)
    vector /= np.linalg.norm(vector)
    return AskedQuestion(f"q{n}", f"2026-11-{10 + n}T10:00:00Z", question, (), 0.1, True, vector.tobytes(), asker)


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
    assert [(g["label"], g["count"], g["askers"]) for g in gaps] == [
        ("Best wax moth trap design?", 3, 3),  # one key and two anonymous questions
        ("How do I treat chalkbrood?", 3, 1),  # asked three times by one person
    ]


def test_questions_of_fewer_than_two_content_words_are_not_gaps() -> None:
    rows = [asked(1, "help", [1, 0, 0], "ana"), asked(2, "How do I?", [0, 1, 0], "bo"),
            asked(3, "varroa threshold", [0, 0, 1], "cy")]
    assert [g["label"] for g in group_questions(rows)] == ["varroa threshold"]
