"""SQL shared by the SQLite catalog and the FTS5 index: the visibility rule and the filters as
SQL conditions, and ``IN (...)`` lists in batches.

The rule itself is defined in ``retrieval/filters.py`` (:func:`~retrieval.filters.admits`);
this is its translation, checked against it by the contract tests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from retrieval.filters import Filters
from retrieval.records import to_iso

BATCH = 500
"""Values per ``IN (...)`` list (SQLite's default limit is 999 parameters)."""


def visible_sql(groups: tuple[str, ...], doc: str = "d") -> tuple[str, list[object]]:
    """SQL condition (on documents aliased ``doc``) for what members of ``groups`` may see."""
    if not groups:
        return f"{doc}.is_public = 1", []
    marks = ",".join("?" * len(groups))
    return (
        f"({doc}.is_public = 1 OR EXISTS (SELECT 1 FROM doc_groups g "
        f"WHERE g.doc_id = {doc}.id AND g.grp IN ({marks})))",
        list(groups),
    )


def known_member_sql(groups: tuple[str, ...]) -> tuple[str, list[object]]:
    """SQL condition (on members aliased ``m``) for members ``groups`` may know of (see
    :meth:`retrieval.storage.Catalog.members`)."""
    visible, params = visible_sql(groups)
    wrote = ("EXISTS (SELECT 1 FROM authorship a JOIN documents d ON d.id = a.doc_id "
             f"WHERE a.member_id = m.id AND {visible})")
    posted = f"EXISTS (SELECT 1 FROM posts p JOIN documents d ON d.id = p.doc_id WHERE p.author = m.id AND {visible})"
    silent = ("(NOT EXISTS (SELECT 1 FROM authorship a WHERE a.member_id = m.id) "
              "AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.author = m.id))")
    return f"({wrote} OR {posted} OR {silent})", [*params, *params]


def chunk_filter_sql(filters: Filters, groups: tuple[str, ...]) -> tuple[str, list[object]]:
    """``SELECT c.id ...`` of every chunk passing ``filters`` and visible to ``groups``."""
    condition, params = visible_sql(groups)
    where = [condition]
    simple = {"channel": "d.channel", "source": "d.source", "kind": "d.kind", "author": "c.author"}
    for name, column in simple.items():
        value = getattr(filters, name)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if filters.tag is not None:
        where.append("EXISTS (SELECT 1 FROM doc_tags t WHERE t.doc_id = d.id AND t.tag = ?)")
        params.append(filters.tag)
    if filters.since is not None:
        where.append("c.created_at >= ?")
        params.append(to_iso(filters.since))
    if filters.until is not None:
        where.append("c.created_at <= ?")
        params.append(to_iso(filters.until))
    sql = "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE " + " AND ".join(where)
    return sql, params


def marks(values: Sequence[object]) -> str:
    """``?,?,...`` placeholders for ``values``."""
    return ",".join("?" * len(values))


def batched(
    db: sqlite3.Connection | sqlite3.Cursor, sql: str, values: Collection[object], after: Sequence[object] = (),
) -> Iterator[Any]:
    """Rows of ``sql`` (holding one ``{marks}`` slot for an ``IN`` list) over ``values`` in
    batches of :data:`BATCH`; ``after`` are parameters following the list in every batch.
    Rows come batch by batch: order across batches is the caller's to restore. Rows are what
    ``db`` makes them (``sqlite3.Row`` on the catalog's connections, tuples on a plain cursor)."""
    ordered = sorted(values, key=str)
    for start in range(0, len(ordered), BATCH):
        part = ordered[start : start + BATCH]
        yield from db.execute(sql.format(marks=marks(part)), [*part, *after])
