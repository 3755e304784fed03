""":class:`~retrieval.storage.LexicalIndex` on SQLite FTS5 with ``bm25()``, in the catalog's
own SQLite file (table ``chunk_fts``, rowid = chunk id), sharing the catalog's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from retrieval.backends.options import Fts5Options, options_of
from retrieval.backends.sqlite_catalog import SqliteCatalog
from retrieval.backends.sqlite_sql import chunk_filter_sql
from retrieval.cjk import spaced
from retrieval.errors import ConfigError
from retrieval.filters import Filters
from retrieval.storage import Catalog, CatalogBuilder, Place, Scored
from retrieval.views import ChunkEntry, Groups
from retrieval.words import query_words

FTS_SCHEMA = "CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5 (text, tokenize = 'porter unicode61')"
DF_CACHE = 50_000
"""Document frequencies kept per open index (a snapshot never changes)."""


def fts_query(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression: ``words`` OR-ed, each quoted (so none is an operator)."""
    return " OR ".join(f'"{w}"' for w in words)


def sqlite_catalog(catalog: Catalog) -> SqliteCatalog:
    """``catalog`` as the ``sqlite`` catalog whose file FTS5 shares; any other is a ConfigError."""
    if not isinstance(catalog, SqliteCatalog):
        raise ConfigError(f"the fts5 lexical index needs the sqlite catalog, not {type(catalog).__name__}")
    return catalog


class Fts5Index:
    """See :class:`~retrieval.storage.LexicalIndex`; scores are ``-bm25()``."""

    def __init__(self, catalog: SqliteCatalog, options: Fts5Options) -> None:
        self.catalog, self.options = catalog, options
        self.db = catalog.connection
        self._df: dict[str, int] = {}
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            self._count = int(self.db.execute("SELECT count(*) FROM chunk_fts").fetchone()[0])
        return self._count

    def search(self, text: str, k: int, where: Filters, groups: Groups) -> Scored:
        match = fts_query(self.selective(query_words(text)))
        if not match or k <= 0:
            return []
        sql = "SELECT rowid, bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ?"
        params: list[object] = [match]
        if not where.is_empty() or self.catalog.has_private():
            subquery, sub_params = chunk_filter_sql(where, groups)
            sql += f" AND rowid IN ({subquery})"
            params += sub_params
        sql += " ORDER BY bm25(chunk_fts) LIMIT ?"
        try:
            return [(r[0], -r[1]) for r in self.db.execute(sql, [*params, k])]
        except sqlite3.OperationalError:  # a query FTS5 cannot parse finds nothing lexically
            return []

    def selective(self, words: list[str]) -> list[str]:
        """``words`` without the very common ones (see :class:`Fts5Options`), keeping the
        rarest one if all are common."""
        limit = max(self.options.common_share * self.count(), self.options.common_min_chunks)
        if len(words) < 2 or self.count() <= limit:
            return words
        frequency = {w: self.document_frequency(w) for w in words}
        return [w for w in words if frequency[w] <= limit] or [min(words, key=frequency.__getitem__)]

    def document_frequency(self, word: str) -> int:
        if word not in self._df:
            if len(self._df) > DF_CACHE:
                self._df.clear()
            try:
                sql = "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH ?"
                phrase = '"' + " ".join(spaced(word).split()) + '"'  # a CJK pair is two tokens here
                self._df[word] = int(self.db.execute(sql, (phrase,)).fetchone()[0])
            except sqlite3.OperationalError:
                self._df[word] = 0
        return self._df[word]

    def close(self) -> None:
        """The connection is the catalog's: it closes it."""


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
        """See :class:`~retrieval.storage.LexicalFactory`."""
        options_of(Fts5Options, place.options, "fts5")
        return Fts5Builder(sqlite_catalog(catalog).connection)

    def drop(self, place: Place) -> None:
        """Nothing lives outside the snapshot folder."""
