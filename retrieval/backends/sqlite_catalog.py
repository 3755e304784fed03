""":class:`~retrieval.storage.Catalog` on the snapshot's SQLite file (``index.sqlite``), opened
read-only and immutable; the builder lives in ``sqlite_catalog_writer.py``."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from retrieval.backends.sqlite_sql import batched, chunk_filter_sql, known_member_sql, marks, visible_sql
from retrieval.filters import Filters
from retrieval.records import ANSWER_ROLES, Member
from retrieval.storage import CatalogBuilder, Place
from retrieval.views import ChunkInfo, ContributionInfo, DocumentInfo, Groups, PostInfo, ThreadStats

SQLITE_FILE = "index.sqlite"

CHUNK_SQL = """
SELECT c.id, c.doc_id, c.post_id, c.section, c.body, c.start, c."end", c.author, c.created_at,
       d.kind, d.title, d.channel, d.url, d.tags, m.name AS author_name,
       p.position, p.accepted, p.score AS post_score, a.role
FROM chunks c JOIN documents d ON d.id = c.doc_id
LEFT JOIN members m ON m.id = c.author
LEFT JOIN posts p ON p.id = c.post_id
LEFT JOIN authorship a ON a.doc_id = c.doc_id AND a.post_id = c.post_id
WHERE c.id IN ({marks}) AND """
CHUNK_DOC_SQL = "SELECT c.id, c.doc_id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks}) AND "
CONTRIBUTION_SQL = """
SELECT a.doc_id, a.member_id, a.role, a.post_id, COALESCE(p.created_at, d.created_at) AS created_at,
       COALESCE(p.score, 0) AS score, p.position
FROM authorship a JOIN documents d ON d.id = a.doc_id LEFT JOIN posts p ON p.id = a.post_id
WHERE a.{column} IN ({{marks}}) AND """
THREADS_SQL = """
SELECT d.id, d.title, d.channel, d.url, d.created_at, d.tags,
       count(p.id) AS posts, coalesce(sum(p.score), 0) AS score
FROM documents d JOIN posts p ON p.doc_id = d.id
WHERE d.kind = 'thread' AND {visible}
GROUP BY d.id ORDER BY d.created_at DESC, d.id LIMIT ?
"""


def chunk_info(r: Sequence[Any]) -> ChunkInfo:
    """A :class:`ChunkInfo` from a :data:`CHUNK_SQL` row (plain tuple or ``sqlite3.Row``, read
    by position: a search builds up to a few hundred of these per query)."""
    (id_, doc_id, post_id, section, body, start, end, author, created_at, kind, title, channel, url, tags,
     author_name, position, accepted, post_score, role) = r
    return ChunkInfo(
        id=id_, doc_id=doc_id, kind=kind, post_id=post_id, title=title, channel=channel, url=url, section=section,
        body=body, start=start, end=end, author=author, author_name=author_name, created_at=created_at,
        tags=tag_tuple(tags), position=position, accepted=bool(accepted), post_score=int(post_score or 0),
        role=role or "",
    )


@lru_cache(maxsize=4096)
def tag_tuple(stored: str) -> tuple[str, ...]:
    """A document's stored JSON tag list as a tuple (the same few lists recur in every result)."""
    return tuple(json.loads(stored))


def document_info(r: sqlite3.Row) -> DocumentInfo:
    """A :class:`DocumentInfo` from a ``documents`` row."""
    return DocumentInfo(
        id=r["id"], kind=r["kind"], source=r["source"], channel=r["channel"], title=r["title"], url=r["url"],
        tags=tuple(json.loads(r["tags"])), groups=tuple(json.loads(r["visibility"])), created_at=r["created_at"],
        body=r["body"],
    )


def contribution(r: Sequence[Any]) -> ContributionInfo:
    """A :class:`ContributionInfo` from a :data:`CONTRIBUTION_SQL` row (read by position: an
    expert ranking reads thousands of these for the members it meets first)."""
    return ContributionInfo(r[0], r[1], r[2], r[3], r[4], int(r[5]))


class SqliteCatalog:
    """:class:`~retrieval.storage.Catalog` over SQLite (see there for contracts).

    ``connection`` is shared with the FTS5 index of the same snapshot. Given ``reopen`` (a
    read-only snapshot), each thread gets its own connection, opened on first use: queries
    of one connection run one at a time, so with a single connection two requests' SQL (most
    of a search's time is FTS5, run without the GIL) waited on each other instead of using
    both cores (docs/benchmarks.md, load). :meth:`close` closes them all.
    """

    def __init__(self, connection: sqlite3.Connection,
                 reopen: Callable[[], sqlite3.Connection] | None = None) -> None:
        connection.row_factory = sqlite3.Row
        self._first, self._reopen = connection, reopen
        self._opened = [connection]
        self._lock = threading.Lock()
        self._local = threading.local()
        self._local.connection = connection
        self._has_private: bool | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (the one given, when there is no ``reopen``)."""
        if self._reopen is None or not self._opened:  # closed: the first one raises as closed
            return self._first
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._reopen()
            connection.row_factory = sqlite3.Row
            with self._lock:
                self._opened.append(connection)
        return connection

    @property
    def per_thread(self) -> bool:
        """True when each thread gets its own connection (a read-only snapshot)."""
        return self._reopen is not None

    def _run(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return self.connection.execute(sql, params).fetchall()

    def has_private(self) -> bool:
        """True when some document is not public (read once: the snapshot never changes)."""
        if self._has_private is None:
            self._has_private = bool(self._run("SELECT 1 FROM documents WHERE is_public = 0 LIMIT 1"))
        return self._has_private

    def counts(self, groups: Groups | None = None) -> dict[str, int]:
        params: list[object] = []
        known_params: list[object] = []
        if groups is None:
            visible, known = "1", "1"
        else:
            visible, params = visible_sql(groups)
            known, known_params = known_member_sql(groups)
        one = lambda sql, values: int(self._run(sql, values)[0][0])  # noqa: E731
        return {
            "threads": one(f"SELECT count(*) FROM documents d WHERE d.kind='thread' AND {visible}", params),
            "posts": one(f"SELECT count(*) FROM posts p JOIN documents d ON d.id = p.doc_id WHERE {visible}", params),
            "resources": one(f"SELECT count(*) FROM documents d WHERE d.kind='resource' AND {visible}", params),
            "chunks": one(f"SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {visible}", params),
            "members": one(f"SELECT count(*) FROM members m WHERE {known}", known_params),
        }

    def select_chunks(self, where: Filters, groups: Groups) -> np.ndarray | None:
        if where.is_empty() and not self.has_private():
            return None
        sql, params = chunk_filter_sql(where, groups)
        return np.array([r[0] for r in self._run(sql, params)], dtype=np.int64)

    def chunks(self, ids: Sequence[int], groups: Groups) -> dict[int, ChunkInfo]:
        condition, params = visible_sql(groups)
        rows = batched(self._plain(), CHUNK_SQL + condition, [int(i) for i in ids], params)
        return {r[0]: chunk_info(r) for r in rows}

    def chunk_documents(self, ids: Sequence[int], groups: Groups) -> dict[int, str]:
        condition, params = visible_sql(groups)
        return dict(batched(self._plain(), CHUNK_DOC_SQL + condition, [int(i) for i in ids], params))

    def _plain(self) -> sqlite3.Cursor:
        """A cursor of this thread's connection yielding plain tuples (cheaper than
        ``sqlite3.Row`` where rows are read by position)."""
        cursor = self.connection.cursor()
        cursor.row_factory = None  # type: ignore[assignment]
        return cursor

    def chunk_ids(self, doc_ids: Collection[str], groups: Groups) -> dict[str, list[int]]:
        visible = self.documents(doc_ids, groups)
        found: dict[str, list[int]] = {doc_id: [] for doc_id in visible}
        sql = ("SELECT c.doc_id, c.id FROM chunks c LEFT JOIN posts p ON p.id = c.post_id WHERE c.doc_id IN ({marks}) "
               "ORDER BY c.doc_id, COALESCE(p.position, 0), c.ordinal, c.id")
        for row in batched(self.connection, sql, list(visible)):
            found[row[0]].append(row[1])
        return found

    def documents(self, doc_ids: Collection[str], groups: Groups) -> dict[str, DocumentInfo]:
        condition, params = visible_sql(groups)
        sql = "SELECT * FROM documents d WHERE d.id IN ({marks}) AND " + condition
        return {r["id"]: document_info(r) for r in batched(self.connection, sql, doc_ids, params)}

    def list_documents(self, kind: str, groups: Groups) -> list[DocumentInfo]:
        condition, params = visible_sql(groups)
        rows = self._run(f"SELECT * FROM documents d WHERE d.kind = ? AND {condition} ORDER BY d.title, d.id",
                         [kind, *params])
        return [document_info(r) for r in rows]

    def thread_stats(self, groups: Groups, limit: int) -> list[ThreadStats]:
        condition, params = visible_sql(groups)
        rows = self._run(THREADS_SQL.format(visible=condition), [*params, limit])
        return [ThreadStats(r["id"], r["title"], r["channel"], r["url"], r["created_at"], tuple(json.loads(r["tags"])),
                            int(r["posts"]), int(r["score"])) for r in rows]

    def posts_of(self, doc_ids: Collection[str], groups: Groups) -> list[PostInfo]:
        condition, params = visible_sql(groups)
        sql = ("SELECT p.*, m.name AS author_name FROM posts p JOIN documents d ON d.id = p.doc_id "
               "LEFT JOIN members m ON m.id = p.author WHERE p.doc_id IN ({marks}) AND " + condition)
        posts = [
            PostInfo(r["id"], r["doc_id"], r["position"], r["author"], r["author_name"], r["created_at"], r["text"],
                     r["reply_to"], bool(r["accepted"]), int(r["score"]))
            for r in batched(self.connection, sql, doc_ids, params)
        ]
        return sorted(posts, key=lambda p: (p.doc_id, p.position))

    def contributions(self, doc_ids: Collection[str], groups: Groups) -> list[ContributionInfo]:
        return self._contributions("doc_id", doc_ids, groups)

    def member_contributions(self, member_ids: Collection[str], groups: Groups) -> list[ContributionInfo]:
        found = self._contributions("member_id", member_ids, groups)
        return sorted(found, key=lambda c: (c.member_id, c.doc_id))

    def _contributions(self, column: str, values: Collection[str], groups: Groups) -> list[ContributionInfo]:
        condition, params = visible_sql(groups)
        rows = list(batched(self._plain(), CONTRIBUTION_SQL.format(column=column) + condition, values, params))
        rows.sort(key=lambda r: (r[0], -1 if r[6] is None else r[6]))  # by document, then post position
        return [contribution(r) for r in rows]

    def top_answerers(self, groups: Groups, limit: int, since: str | None = None,
                      until: str | None = None) -> list[tuple[str, int]]:
        condition, params = visible_sql(groups)
        roles, when, bounds = sorted(ANSWER_ROLES), "", list[object]()
        created = "COALESCE(p.created_at, d.created_at)"
        if since is not None:
            when, bounds = f" AND {created} >= ?", [since]
        if until is not None:
            when += f" AND ({created} IS NULL OR {created} <= ?)"
            bounds.append(until)
        rows = self._run(
            "SELECT a.member_id, count(*) AS n FROM authorship a JOIN documents d ON d.id = a.doc_id "
            f"LEFT JOIN posts p ON p.id = a.post_id WHERE a.role IN ({marks(roles)}) AND {condition}"
            f"{when} GROUP BY a.member_id ORDER BY n DESC, a.member_id LIMIT ?", [*roles, *params, *bounds, limit])
        return [(r[0], int(r[1])) for r in rows]

    def latest_activity(self, groups: Groups, until: str | None = None) -> str | None:
        condition, params = visible_sql(groups)
        if until is not None:
            condition, params = f"({condition}) AND COALESCE(p.created_at, d.created_at) <= ?", [*params, until]
        rows = self._run(
            "SELECT max(COALESCE(p.created_at, d.created_at)) FROM authorship a JOIN documents d ON d.id = a.doc_id "
            f"LEFT JOIN posts p ON p.id = a.post_id WHERE {condition}", params)
        return rows[0][0] if rows else None

    def members(self, ids: Collection[str] | None = None, groups: Groups | None = None) -> dict[str, Member]:
        known, params = ("1", list[object]()) if groups is None else known_member_sql(groups)
        if ids is None:
            rows: list[sqlite3.Row] = self._run(f"SELECT * FROM members m WHERE {known} ORDER BY id", params)
        else:
            sql = "SELECT * FROM members m WHERE id IN ({marks}) AND " + known  # no braces in ``known``
            rows = list(batched(self.connection, sql, ids, params))
        return {r["id"]: Member(r["id"], r["name"], json.loads(r["handles"]), bool(r["opt_out"])) for r in rows}

    def facets(self, groups: Groups) -> dict[str, list[tuple[str, int]]]:
        condition, params = visible_sql(groups)
        channels = self._run(
            f"SELECT d.channel, count(*) AS n FROM documents d WHERE d.channel != '' AND {condition} "
            "GROUP BY d.channel ORDER BY n DESC, d.channel", params)
        tags = self._run(
            f"SELECT t.tag, count(*) AS n FROM doc_tags t JOIN documents d ON d.id = t.doc_id WHERE {condition} "
            "GROUP BY t.tag ORDER BY n DESC, t.tag", params)
        sources = self._run(
            f"SELECT d.source, count(*) AS n FROM documents d WHERE d.source != '' AND {condition} "
            "GROUP BY d.source ORDER BY n DESC, d.source", params)
        return {"channels": [(r[0], r[1]) for r in channels], "tags": [(r[0], r[1]) for r in tags],
                "sources": [(r[0], r[1]) for r in sources]}

    def post_documents(self, post_ids: Collection[str]) -> dict[str, str]:
        rows = batched(self.connection, "SELECT id, doc_id FROM posts WHERE id IN ({marks})", post_ids)
        return {r[0]: r[1] for r in rows}

    def document_hashes(self) -> dict[str, tuple[str, str]]:
        return {r[0]: (r[1], r[2]) for r in self._run("SELECT id, content_hash, source_path FROM documents")}

    def chunk_texts(self) -> list[tuple[int, str, str]]:
        return [(r[0], r[1], r[2]) for r in self._run("SELECT id, doc_id, text FROM chunks ORDER BY id")]

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()


class SqliteCatalogFactory:
    """Registered as ``sqlite``: the catalog in ``index.sqlite`` inside the snapshot folder."""

    def open(self, place: Place) -> SqliteCatalog:
        """See :class:`~retrieval.storage.CatalogFactory`."""
        uri = f"file:{place.path / SQLITE_FILE}?mode=ro&immutable=1"

        def reopen() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False)

        return SqliteCatalog(reopen(), reopen)

    def build(self, place: Place) -> CatalogBuilder:
        """See :class:`~retrieval.storage.CatalogFactory`."""
        from retrieval.backends.sqlite_catalog_writer import SqliteCatalogBuilder

        return SqliteCatalogBuilder.create(place.path / SQLITE_FILE, place.previous and place.previous / SQLITE_FILE)

    def drop(self, place: Place) -> None:
        """Nothing lives outside the snapshot folder."""
