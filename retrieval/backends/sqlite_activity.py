"""The activity store in one SQLite file (``activity.sqlite`` beside the snapshots; WAL, so
the API writes while the admin view reads). Implements
:class:`~retrieval.activity_store.ActivityStore`, visibility rule included."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from retrieval.activity_store import AskedQuestion, Feedback, FeedbackSeen, Viewer

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
QUESTION_COLUMNS = "id, asked_at, question, groups, confidence, abstained, vector, asker"


def shared_sql(viewer: Viewer, groups_col: str, asker_col: str) -> tuple[str, list[object]]:
    """SQL condition for rows ``viewer`` may read (the rule of ``retrieval.activity_store``)."""
    anonymous = f"({asker_col} IS NULL AND {groups_col} = '[]')"
    if not viewer:
        return anonymous, []
    marks = ",".join("?" * len(viewer))
    return f"({anonymous} OR EXISTS (SELECT 1 FROM json_each({groups_col}) WHERE value IN ({marks})))", list(viewer)


def _question(row: sqlite3.Row) -> AskedQuestion:
    return AskedQuestion(id=row["id"], asked_at=row["asked_at"], question=row["question"],
                         groups=tuple(json.loads(row["groups"])), confidence=float(row["confidence"]),
                         abstained=bool(row["abstained"]), vector=row["vector"], asker=row["asker"])


class SqliteActivityStore:
    """Questions and feedback in SQLite; one connection shared by threads, writes serialised."""

    def __init__(self, path: Path) -> None:
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

    def add_question(self, question: AskedQuestion) -> None:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        q = question
        with self._lock, self._db:
            self._db.execute(
                f"INSERT INTO questions ({QUESTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (q.id, q.asked_at, q.question, json.dumps(sorted(q.groups)), q.confidence, int(q.abstained),
                 q.vector, q.asker),
            )

    def add_feedback(self, feedback: Feedback) -> int:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        f = feedback
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO feedback (created_at, target, answer_id, member_id, helpful, comment, api_key_groups, "
                "asker) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (f.created_at, f.target, f.answer_id, f.member_id, int(f.helpful), f.comment,
                 json.dumps(sorted(f.groups)), f.asker),
            )
        return int(cursor.lastrowid or 0)

    def has_question(self, question_id: str) -> bool:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        return self._db.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone() is not None

    def delete_before(self, cutoff: str) -> int:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        with self._lock, self._db:
            gone = self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
            gone += self._db.execute("DELETE FROM feedback WHERE created_at < ?", (cutoff,)).rowcount
        return gone

    def delete_asker(self, asker: str) -> tuple[int, int]:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        with self._lock, self._db:
            feedback = self._db.execute(
                "DELETE FROM feedback WHERE asker = ? OR answer_id IN (SELECT id FROM questions WHERE asker = ?)",
                (asker, asker),
            ).rowcount
            questions = self._db.execute("DELETE FROM questions WHERE asker = ?", (asker,)).rowcount
        return questions, feedback

    def feedback_counts(self, viewer: Viewer) -> dict[tuple[str, bool], int]:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        mine, params = shared_sql(viewer, "f.api_key_groups", "f.asker")
        rows = self._db.execute(
            f"SELECT target, helpful, count(*) AS n FROM feedback f WHERE {mine} GROUP BY target, helpful", params
        )
        return {(r["target"], bool(r["helpful"])): int(r["n"]) for r in rows}

    def latest_feedback(self, viewer: Viewer, limit: int) -> list[FeedbackSeen]:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        mine, params = shared_sql(viewer, "f.api_key_groups", "f.asker")
        theirs, q_params = shared_sql(viewer, "q.groups", "q.asker")
        rows = self._db.execute(
            f"SELECT f.created_at, f.target, f.helpful, f.comment, f.member_id, "
            f"CASE WHEN {theirs} THEN q.question END AS question FROM feedback f "
            f"LEFT JOIN questions q ON q.id = f.answer_id WHERE {mine} ORDER BY f.id DESC LIMIT ?",
            [*q_params, *params, limit],
        )
        return [FeedbackSeen(created_at=r["created_at"], target=r["target"], helpful=bool(r["helpful"]),
                             comment=r["comment"], member_id=r["member_id"], question=r["question"]) for r in rows]

    def weak_questions(self, since: str, max_confidence: float, viewer: Viewer, limit: int) -> list[AskedQuestion]:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        mine, params = shared_sql(viewer, "groups", "asker")
        rows = self._db.execute(
            f"SELECT {QUESTION_COLUMNS} FROM questions WHERE asked_at >= ? AND (abstained = 1 OR confidence < ?) "
            f"AND {mine} ORDER BY asked_at DESC LIMIT ?",
            [since, max_confidence, *params, limit],
        )
        return [_question(r) for r in rows]

    def close(self) -> None:
        """See :class:`~retrieval.activity_store.ActivityStore`."""
        self._db.close()


class SqliteActivityFactory:
    """Registered as ``sqlite`` in ``ACTIVITY_STORES``."""

    def open(self, path: Path) -> SqliteActivityStore:
        """See :class:`~retrieval.activity_store.ActivityFactory`."""
        return SqliteActivityStore(path)
