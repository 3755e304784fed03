""":class:`~retrieval.storage.LexicalIndex` on SQLite FTS5 with ``bm25()``, in the catalog's
own SQLite file (table ``chunk_fts``, rowid = chunk id), sharing the catalog's connection.

Filters and visibility never go into the MATCH as a ``rowid IN (...)`` constraint: FTS5 would
run the whole match once per allowed row (measured: 1.4 ms -> 81 ms for a short query,
8 ms -> 1,490 ms for a long question on 576 chunks). Instead the chunk ids a (filters,
groups) pair may see are read once from the catalog and kept for the life of the immutable
snapshot (:class:`~retrieval.backends.allowed.KeptPerCaller` of :class:`Allowed`), and the
match runs once:

- most chunks allowed (share >= :data:`FILTER_SHARE`, e.g. visibility alone), or too many ids
  to inline: the unrestricted match, ``ORDER BY bm25`` with a pool deep enough for the allowed
  share, filtered here; if the page is still short, once more without a limit;
- a small share (a narrow filter) of at most :data:`INLINE_IDS` ids: they go in as one JSON
  array (kept with the ids) and SQLite checks each matching row against it (``+rowid``: the
  unary plus keeps the check out of FTS5's plan), so a deep pool is never fetched.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.backends.allowed import KeptPerCaller
from retrieval.backends.options import Fts5Options, options_of
from retrieval.backends.sqlite_catalog import SqliteCatalog
from retrieval.backends.word_choice import choose_words
from retrieval.cjk import spaced
from retrieval.errors import ConfigError
from retrieval.filters import Filters
from retrieval.storage import Catalog, CatalogBuilder, Place, Scored
from retrieval.views import ChunkEntry, Groups
from retrieval.words import query_words

FTS_SCHEMA = "CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5 (text, tokenize = 'porter unicode61')"
DF_CACHE = 50_000
"""Document frequencies kept per open index (a snapshot never changes)."""
ALLOWED_KEPT = 64
"""(filters, groups) pairs whose allowed chunk ids are kept per open index."""
INLINE_IDS = 20_000
"""Up to this many allowed ids (and below :data:`FILTER_SHARE`), SQLite filters the match."""
FILTER_SHARE = 0.2
"""From this share of allowed chunks on, the match is filtered here (see the module doc)."""
POOL_SLACK = 1.5
"""First pool = k / (allowed share) x this, plus :data:`POOL_EXTRA` rows."""
POOL_EXTRA = 32
RANKED_SQL = "SELECT rowid, bm25(chunk_fts) AS score FROM chunk_fts WHERE chunk_fts MATCH ?"
ORDER_SQL = " ORDER BY score, rowid LIMIT ?"
"""Ordered by the result column's alias: ``ORDER BY bm25(chunk_fts)`` made SQLite compute
bm25 twice per matching row (measured at 100k chunks: 15.3 -> 13.5 ms for short queries,
35 -> 27 ms for long questions); ties (repeated texts) by id, so a page is reproducible."""


def fts_query(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression: ``words`` OR-ed, each quoted (so none is an operator)."""
    return " OR ".join(f'"{w}"' for w in words)


def sqlite_catalog(catalog: Catalog) -> SqliteCatalog:
    """``catalog`` as the ``sqlite`` catalog whose file FTS5 shares; any other is a ConfigError."""
    if not isinstance(catalog, SqliteCatalog):
        raise ConfigError(f"the fts5 lexical index needs the sqlite catalog, not {type(catalog).__name__}")
    return catalog


def contains(allowed: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Boolean mask: which of ``ids`` are in ``allowed`` (sorted int64 ids)."""
    if not len(ids) or not len(allowed):
        return np.zeros(len(ids), dtype=bool)
    wanted = np.asarray(ids, dtype=np.int64)
    at = np.minimum(np.searchsorted(allowed, wanted), len(allowed) - 1)
    return np.asarray(allowed[at] == wanted)


class Allowed:
    """The sorted chunk ids one (filters, groups) pair may see, and (made once, when first
    needed) the same as a JSON array for SQLite."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        self._inline: str | None = None

    def inline(self) -> str:
        if self._inline is None:
            self._inline = json.dumps(self.ids.tolist())
        return self._inline


class Fts5Index:
    """See :class:`~retrieval.storage.LexicalIndex`; scores are ``-bm25()``."""

    def __init__(self, catalog: SqliteCatalog, options: Fts5Options) -> None:
        self.catalog, self.options = catalog, options
        self._df: dict[str, int] = {}
        self._count: int | None = None
        self._allowed = KeptPerCaller(catalog, lambda ids: Allowed(np.unique(ids)), ALLOWED_KEPT)

    @property
    def db(self) -> sqlite3.Connection:
        """The catalog's connection for this thread."""
        return self.catalog.connection

    @property
    def concurrent(self) -> bool:
        """See :class:`~retrieval.storage.LexicalIndex`: true when the catalog opens a
        connection per thread (a read-only snapshot)."""
        return self.catalog.per_thread

    def count(self) -> int:
        if self._count is None:
            self._count = int(self.db.execute("SELECT count(*) FROM chunk_fts").fetchone()[0])
        return self._count

    def search(self, text: str, k: int, where: Filters, groups: Groups) -> Scored:
        match = fts_query(self.selective(query_words(text)))
        if not match or k <= 0:
            return []
        try:
            allowed = self._allowed.get(where, groups)
            if allowed is None:
                return self._ranked(match, k)
            if len(allowed.ids) >= FILTER_SHARE * self.count() or len(allowed.ids) > INLINE_IDS:
                return self._filtered(match, k, allowed.ids)
            return self._ranked(match, k, allowed.inline())
        except sqlite3.OperationalError:  # a query FTS5 cannot parse finds nothing lexically
            return []

    def _ranked(self, match: str, limit: int, inline: str | None = None) -> Scored:
        """Best ``limit`` rows of ``match`` (-1: all), only ids in the JSON array ``inline``
        if given."""
        if inline is None:
            rows = self.db.execute(RANKED_SQL + ORDER_SQL, (match, limit))
        else:
            sql = RANKED_SQL + " AND +rowid IN (SELECT value FROM json_each(?))" + ORDER_SQL
            rows = self.db.execute(sql, (match, inline, limit))
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _filtered(self, match: str, k: int, allowed: np.ndarray) -> Scored:
        """The unrestricted match cut to ``allowed`` (sorted ids): a pool deep enough for the
        allowed share first, then, if the page is still short, every matching row."""
        pool = math.ceil(k * self.count() / len(allowed) * POOL_SLACK) + POOL_EXTRA
        while True:
            rows = self._ranked(match, pool)
            kept = [row for row, ok in zip(rows, contains(allowed, [r[0] for r in rows]), strict=True) if ok]
            if len(kept) >= k or pool < 0 or len(rows) < pool:
                return kept[:k]
            pool = -1

    def selective(self, words: list[str]) -> list[str]:
        """The words of ``words`` that go into the MATCH (:func:`choose_words`, with the
        posting budget: FTS5 scores every row of every posting list it walks)."""
        o = self.options
        return choose_words(words, self.count(), self.document_frequency, o.common_share, o.common_min_chunks,
                            o.max_terms, o.max_postings)

    def document_frequency(self, word: str) -> int:
        found = self._df.get(word)  # read once: another thread may clear the cache meanwhile
        if found is None:
            if len(self._df) > DF_CACHE:
                self._df.clear()
            try:
                sql = "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH ?"
                phrase = '"' + " ".join(spaced(word).split()) + '"'  # a CJK pair is two tokens here
                found = int(self.db.execute(sql, (phrase,)).fetchone()[0])
            except sqlite3.OperationalError:
                found = 0
            self._df[word] = found
        return found

    def close(self) -> None:
        """The connection is the catalog's: it closes it."""


def drop_table(db: sqlite3.Connection) -> None:
    """Remove ``chunk_fts`` from a catalog being built (a migration to another lexical index)."""
    db.execute("DROP TABLE IF EXISTS chunk_fts")


class Fts5Builder:
    """See :class:`~retrieval.storage.LexicalBuilder`: rows of ``chunk_fts`` written through
    the catalog builder's connection (the catalog's copy of the previous snapshot seeds it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.execute(FTS_SCHEMA)

    def add(self, entries: Sequence[ChunkEntry]) -> None:
        self.db.executemany("INSERT INTO chunk_fts (rowid, text) VALUES (?, ?)",
                            [(e.id, spaced(e.text)) for e in entries])  # CJK characters as tokens

    def remove(self, ids: Sequence[int]) -> None:
        self.db.executemany("DELETE FROM chunk_fts WHERE rowid=?", [(int(i),) for i in ids])

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunk_fts").fetchone()[0])

    def commit(self) -> dict[str, Any]:
        """Committed with the catalog (same file)."""
        return {"kind": "fts5"}

    def discard(self) -> None:
        """The catalog builder discards the file."""


class Fts5Factory:
    """Registered as ``fts5``; options: :class:`~retrieval.backends.options.Fts5Options`."""

    def open(self, place: Place, catalog: Catalog) -> Fts5Index:
        """See :class:`~retrieval.storage.LexicalFactory`."""
        return Fts5Index(sqlite_catalog(catalog), options_of(Fts5Options, place.options, "fts5"))

    def build(self, place: Place, catalog: CatalogBuilder) -> Fts5Builder:
        """See :class:`~retrieval.storage.LexicalFactory`. Without a previous snapshot the
        table starts empty, even when the catalog is a copy that carries one."""
        options_of(Fts5Options, place.options, "fts5")
        db = sqlite_catalog(catalog).connection
        if place.previous is None:
            drop_table(db)
        return Fts5Builder(db)

    def drop(self, place: Place) -> None:
        """Nothing lives outside the snapshot folder."""
