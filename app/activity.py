"""What people do with the service: asked questions (for knowledge gaps) and feedback.

Kept in ``activity.sqlite`` beside the snapshots (the ``sqlite`` activity store of
``retrieval.backends.ACTIVITY_STORES``), so it survives every ingest. Each row keeps the asker's
groups and key name (``asker``; None when anonymous); who may read a row is the store's rule
(``retrieval.activity_store``). Rows older than the retention are deleted on open and then at
most hourly. This module is the feature layer: ids, clock, retention, summaries.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.activity_store import AskedQuestion, Feedback
from retrieval.backends import ACTIVITY_STORES, pick

PURGE_EVERY = 3600.0
WEAK_QUESTIONS_MAX = 1000
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ActivityLog:
    """Questions asked and feedback given, kept by an activity store (``store``: its registry
    name). ``clock`` gives the time stamped on new rows and the retention's "now"."""

    def __init__(self, path: Path, retention_days: int = 0, store: str = "sqlite", clock: Clock = _utc_now) -> None:
        self._store = pick(ACTIVITY_STORES, store, "activity").open(path)
        self._clock = clock
        self.retention_days = retention_days
        self._purged = 0.0
        self.purge()

    def purge(self) -> int:
        """Delete rows older than the retention (none when it is 0); returns how many went."""
        self._purged = time.monotonic()
        if not self.retention_days:
            return 0
        return self._store.delete_before(_iso(self._clock() - timedelta(days=self.retention_days)))

    def forget(self, asker: str) -> tuple[int, int]:
        """Delete every question and feedback made with the key named ``asker``, and feedback
        on those questions; returns (questions, feedback) deleted."""
        return self._store.delete_asker(asker)

    def _maybe_purge(self) -> None:
        if time.monotonic() - self._purged > PURGE_EVERY:
            self.purge()

    def record_question(
        self, question: str, groups: tuple[str, ...], confidence: float, abstained: bool, vector: np.ndarray | None,
        asker: str | None = None,
    ) -> str:
        """Store an asked question (``asker``: the key's name, None when anonymous); returns its
        id (the answer id shown to the asker)."""
        self._maybe_purge()
        answer_id = uuid.uuid4().hex[:12]
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        self._store.add_question(AskedQuestion(
            id=answer_id, asked_at=_iso(self._clock()), question=question, groups=tuple(groups),
            confidence=confidence, abstained=abstained, vector=blob, asker=asker,
        ))
        return answer_id

    def record_feedback(
        self, target: str, helpful: bool, answer_id: str | None, member_id: str | None, comment: str,
        groups: tuple[str, ...], asker: str | None = None,
    ) -> int:
        """Store feedback on an answer or an expert suggestion; returns its id."""
        self._maybe_purge()
        return self._store.add_feedback(Feedback(
            created_at=_iso(self._clock()), target=target, helpful=helpful, comment=comment, answer_id=answer_id,
            member_id=member_id, groups=tuple(groups), asker=asker,
        ))

    def answer_exists(self, answer_id: str) -> bool:
        """True when ``answer_id`` names a recorded question."""
        return self._store.has_question(answer_id)

    def feedback_summary(self, viewer: tuple[str, ...], limit: int = 20) -> dict[str, Any]:
        """Counts of helpful / not helpful per target, and the latest comments, over the
        feedback ``viewer`` may read; a question is quoted only when ``viewer`` may read it too."""
        counts = {
            f"{target}_{'helpful' if helpful else 'not_helpful'}": n
            for (target, helpful), n in self._store.feedback_counts(viewer).items()
        }
        latest = [asdict(seen) for seen in self._store.latest_feedback(viewer, limit)]
        return {"counts": counts, "latest": latest}

    def weak_questions(self, since: str, max_confidence: float, viewer: tuple[str, ...]) -> list[AskedQuestion]:
        """Questions ``viewer`` may read, asked since ``since``, that abstained or scored below
        ``max_confidence`` (newest first, at most :data:`WEAK_QUESTIONS_MAX`)."""
        return self._store.weak_questions(since, max_confidence, viewer, WEAK_QUESTIONS_MAX)

    def close(self) -> None:
        """Close the store."""
        self._store.close()
