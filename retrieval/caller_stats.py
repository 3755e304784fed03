"""Index statistics as one caller may see them: counts over visible documents only.

The manifest's counts cover everything, private groups included; served to a caller they
would tell outsiders how much private content exists. Here every count goes through the
visibility rule of :mod:`retrieval.filters`. The index size and the last ingest's report
(file names, per-kind counts, problems) cover all content, so they are kept for callers
trusted with the whole index (facilitators); others get None and an empty report.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from retrieval.filters import visible_member_sql, visible_sql
from retrieval.index import Snapshot, snapshot_stats

COUNTS = {
    "threads": "SELECT count(*) FROM documents d WHERE d.kind = 'thread' AND {v}",
    "posts": "SELECT count(*) FROM posts p JOIN documents d ON d.id = p.doc_id WHERE {v}",
    "resources": "SELECT count(*) FROM documents d WHERE d.kind = 'resource' AND {v}",
    "chunks": "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {v}",
}


def visible_counts(db: sqlite3.Connection, groups: tuple[str, ...]) -> dict[str, int]:
    """Threads, posts, resources, chunks and members that members of ``groups`` may see."""
    condition, params = visible_sql(groups)
    counts = {name: int(db.execute(sql.format(v=condition), params).fetchone()[0]) for name, sql in COUNTS.items()}
    known, known_params = visible_member_sql(groups)
    counts["members"] = int(db.execute(f"SELECT count(*) FROM members m WHERE {known}", known_params).fetchone()[0])
    return counts


def caller_stats(snapshot: Snapshot, groups: tuple[str, ...], whole_index: bool) -> dict[str, Any]:
    """:func:`retrieval.index.snapshot_stats` with counts for ``groups``; unless
    ``whole_index``, without the index size and the last ingest's report."""
    info = snapshot_stats(snapshot)
    info["counts"] = visible_counts(snapshot.db, groups)
    if not whole_index:
        info["size_bytes"] = None
        info["last_ingest"] = {}
    return info
