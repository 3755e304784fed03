"""The activity store seam: where asked questions and feedback are kept (``app/activity.py``
is the feature layer on top).

A row keeps the asker's groups and key name (``asker``; None when anonymous). The read rule
every store applies itself: a row is shown to a viewer (a facilitator's groups) who shares one
of its groups; rows of anonymous askers (no key, no groups) are public; rows of a named key
without groups are shown to nobody. Dates are UTC ISO 8601 strings with a trailing Z, so they
compare as strings. Stores register in ``retrieval.backends.ACTIVITY_STORES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Viewer = tuple[str, ...]
"""A facilitator's groups (empty: sees only anonymous rows)."""


@dataclass(frozen=True)
class AskedQuestion:
    """One asked question as stored."""

    id: str
    asked_at: str
    question: str
    groups: tuple[str, ...]
    confidence: float
    abstained: bool
    vector: bytes | None
    """The question's embedding as float32 bytes, or None (kept only for weak answers)."""
    asker: str | None = None


@dataclass(frozen=True)
class Feedback:
    """One piece of feedback on an answer (``answer_id``) or an expert (``member_id``)."""

    created_at: str
    target: str
    helpful: bool
    comment: str
    answer_id: str | None
    member_id: str | None
    groups: tuple[str, ...]
    asker: str | None = None


@dataclass(frozen=True)
class FeedbackSeen:
    """Feedback as a viewer sees it: ``question`` is the question answered, or None when the
    viewer may not read that question (or there is none)."""

    created_at: str
    target: str
    helpful: bool
    comment: str
    member_id: str | None
    question: str | None


class ActivityStore(Protocol):
    """Questions and feedback, written by the API and read by the admin views (concurrently:
    implementations are thread-safe)."""

    def add_question(self, question: AskedQuestion) -> None:
        """Store ``question`` (its id must be new)."""
        ...

    def add_feedback(self, feedback: Feedback) -> int:
        """Store ``feedback``; returns its id (positive, increasing)."""
        ...

    def has_question(self, question_id: str) -> bool:
        """True when ``question_id`` names a stored question."""
        ...

    def delete_before(self, cutoff: str) -> int:
        """Delete questions asked and feedback given before ``cutoff``; returns how many rows went."""
        ...

    def delete_asker(self, asker: str) -> tuple[int, int]:
        """Delete every question and feedback of key ``asker`` and the feedback on those
        questions; returns (questions, feedback) deleted."""
        ...

    def feedback_counts(self, viewer: Viewer) -> dict[tuple[str, bool], int]:
        """How many pieces of feedback ``viewer`` may read, per (target, helpful)."""
        ...

    def latest_feedback(self, viewer: Viewer, limit: int) -> list[FeedbackSeen]:
        """The ``limit`` latest pieces of feedback ``viewer`` may read, newest first."""
        ...

    def weak_questions(self, since: str, max_confidence: float, viewer: Viewer, limit: int) -> list[AskedQuestion]:
        """Questions ``viewer`` may read, asked at or after ``since``, that abstained or scored
        below ``max_confidence``, newest first, at most ``limit``."""
        ...

    def close(self) -> None:
        """Release the store; unusable afterwards."""
        ...


class ActivityFactory(Protocol):
    """A registered activity store."""

    def open(self, path: Path) -> ActivityStore:
        """The store kept at ``path`` (created when missing, migrated when old)."""
        ...
