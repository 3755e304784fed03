"""What people do with the service: asked questions (for knowledge gaps) and feedback.

Kept in ``activity.sqlite`` beside the snapshots (WAL: the API writes while the admin view
reads), so it survives every ingest. Each row keeps the asker's groups and key name
(``asker``; NULL when anonymous). A row is shown to a viewer who shares one of its groups;
rows of anonymous askers are public; rows of a named key without groups are shown to nobody.
Rows older than the retention are deleted on open and then at most hourly.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
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


MIGRATIONS = ("ALTER TABLE questions ADD COLUMN asker TEXT", "ALTER TABLE feedback ADD COLUMN asker TEXT")
PURGE_EVERY = 3600.0


def _now(days_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def shared_sql(viewer: tuple[str, ...], groups_col: str, asker_col: str) -> tuple[str, list[object]]:
    """SQL condition for rows ``viewer`` (a facilitator's groups) may read (rule above)."""
    anonymous = f"({asker_col} IS NULL AND {groups_col} = '[]')"
    if not viewer:
        return anonymous, []
    marks = ",".join("?" * len(viewer))
    return f"({anonymous} OR EXISTS (SELECT 1 FROM json_each({groups_col}) WHERE value IN ({marks})))", list(viewer)


class ActivityLog:
    """Questions asked and feedback given, stored in SQLite."""

    def __init__(self, path: Path, retention_days: int = 0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        for statement in MIGRATIONS:
            try:
                self._db.execute(statement)
            except sqlite3.OperationalError:  # the column exists
                pass
        self._lock = threading.Lock()
        self.retention_days = retention_days
        self._purged = 0.0
        self.purge()

    def purge(self) -> int:
        """Delete rows older than the retention (none when it is 0); returns how many went."""
        self._purged = time.monotonic()
        if not self.retention_days:
            return 0
        cutoff = _now(self.retention_days)
        with self._lock, self._db:
            gone = self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
            gone += self._db.execute("DELETE FROM feedback WHERE created_at < ?", (cutoff,)).rowcount
        return gone

    def forget(self, asker: str) -> tuple[int, int]:
        """Delete every question and feedback made with the key named ``asker``, and feedback
        on those questions; returns (questions, feedback) deleted."""
        with self._lock, self._db:
            feedback = self._db.execute(
                "DELETE FROM feedback WHERE asker = ? OR answer_id IN (SELECT id FROM questions WHERE asker = ?)",
                (asker, asker),
            ).rowcount
            questions = self._db.execute("DELETE FROM questions WHERE asker = ?", (asker,)).rowcount
        return questions, feedback

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
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO questions (id, asked_at, question, groups, confidence, abstained, vector, asker) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, _now(), question, json.dumps(sorted(groups)), confidence, int(abstained), blob, asker),
            )
        return answer_id

    def record_feedback(
        self, target: str, helpful: bool, answer_id: str | None, member_id: str | None, comment: str,
        groups: tuple[str, ...], asker: str | None = None,
    ) -> int:
        """Store feedback on an answer or an expert suggestion; returns its id."""
        self._maybe_purge()
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO feedback (created_at, target, answer_id, member_id, helpful, comment, api_key_groups, "
                "asker) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), target, answer_id, member_id, int(helpful), comment, json.dumps(sorted(groups)), asker),
            )
        return int(cursor.lastrowid or 0)

    def answer_exists(self, answer_id: str) -> bool:
        """True when ``answer_id`` names a recorded question."""
        return self._db.execute("SELECT 1 FROM questions WHERE id = ?", (answer_id,)).fetchone() is not None

    def feedback_summary(self, viewer: tuple[str, ...], limit: int = 20) -> dict[str, Any]:
        """Counts of helpful / not helpful per target, and the latest comments, over the
        feedback ``viewer`` may read; a question is quoted only when ``viewer`` may read it too."""
        mine, params = shared_sql(viewer, "f.api_key_groups", "f.asker")
        theirs, q_params = shared_sql(viewer, "q.groups", "q.asker")
        counts = {
            f"{r['target']}_{'helpful' if r['helpful'] else 'not_helpful'}": r["n"]
            for r in self._db.execute(
                f"SELECT target, helpful, count(*) AS n FROM feedback f WHERE {mine} GROUP BY target, helpful", params
            )
        }
        latest = [
            dict(r) for r in self._db.execute(
                f"SELECT f.created_at, f.target, f.helpful, f.comment, f.member_id, "
                f"CASE WHEN {theirs} THEN q.question END AS question FROM feedback f "
                f"LEFT JOIN questions q ON q.id = f.answer_id WHERE {mine} ORDER BY f.id DESC LIMIT ?",
                [*q_params, *params, limit],
            )
        ]
        return {"counts": counts, "latest": latest}

    def weak_questions(self, since: str, max_confidence: float, viewer: tuple[str, ...]) -> list[sqlite3.Row]:
        """Questions ``viewer`` may read, asked since ``since``, that abstained or scored below
        ``max_confidence``."""
        mine, params = shared_sql(viewer, "groups", "asker")
        return list(self._db.execute(
            "SELECT id, asked_at, question, confidence, abstained, vector FROM questions "
            f"WHERE asked_at >= ? AND (abstained = 1 OR confidence < ?) AND {mine} ORDER BY asked_at DESC LIMIT 1000",
            [since, max_confidence, *params],
        ))

    def close(self) -> None:
        """Close the database."""
        self._db.close()
