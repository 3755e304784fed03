"""What people do with the service: asked questions (for knowledge gaps) and feedback.

Kept in ``activity.sqlite`` beside the snapshots (WAL: the API writes while the admin view
reads), so it survives every ingest.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY, asked_at TEXT NOT NULL, question TEXT NOT NULL, groups TEXT NOT NULL,
    confidence REAL NOT NULL, abstained INTEGER NOT NULL, vector BLOB
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, target TEXT NOT NULL,
    answer_id TEXT, member_id TEXT, helpful INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '',
    api_key_groups TEXT NOT NULL DEFAULT '[]'
);
"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ActivityLog:
    """Questions asked and feedback given, stored in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def record_question(
        self, question: str, groups: tuple[str, ...], confidence: float, abstained: bool, vector: np.ndarray | None
    ) -> str:
        """Store an asked question; returns its id (the answer id shown to the asker)."""
        answer_id = uuid.uuid4().hex[:12]
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (answer_id, _now(), question, json.dumps(list(groups)), confidence, int(abstained), blob),
            )
        return answer_id

    def record_feedback(
        self, target: str, helpful: bool, answer_id: str | None, member_id: str | None, comment: str,
        groups: tuple[str, ...],
    ) -> int:
        """Store feedback on an answer or an expert suggestion; returns its id."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO feedback (created_at, target, answer_id, member_id, helpful, comment, api_key_groups) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), target, answer_id, member_id, int(helpful), comment, json.dumps(list(groups))),
            )
        return int(cursor.lastrowid or 0)

    def answer_exists(self, answer_id: str) -> bool:
        """True when ``answer_id`` names a recorded question."""
        return self._db.execute("SELECT 1 FROM questions WHERE id = ?", (answer_id,)).fetchone() is not None

    def feedback_summary(self, limit: int = 20) -> dict[str, Any]:
        """Counts of helpful / not helpful per target, and the latest comments."""
        counts = {
            f"{r['target']}_{'helpful' if r['helpful'] else 'not_helpful'}": r["n"]
            for r in self._db.execute("SELECT target, helpful, count(*) AS n FROM feedback GROUP BY target, helpful")
        }
        latest = [
            dict(r) for r in self._db.execute(
                "SELECT f.created_at, f.target, f.helpful, f.comment, f.member_id, q.question FROM feedback f "
                "LEFT JOIN questions q ON q.id = f.answer_id ORDER BY f.id DESC LIMIT ?", (limit,)
            )
        ]
        return {"counts": counts, "latest": latest}

    def weak_questions(self, since: str, max_confidence: float) -> list[sqlite3.Row]:
        """Questions asked since ``since`` that abstained or scored below ``max_confidence``."""
        return list(self._db.execute(
            "SELECT id, asked_at, question, confidence, abstained, vector FROM questions "
            "WHERE asked_at >= ? AND (abstained = 1 OR confidence < ?) ORDER BY asked_at DESC LIMIT 1000",
            (since, max_confidence),
        ))

    def close(self) -> None:
        """Close the database."""
        self._db.close()
