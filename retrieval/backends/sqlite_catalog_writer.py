""":class:`~retrieval.storage.CatalogBuilder` on SQLite: a copy of the served snapshot's
``index.sqlite`` (online backup) written in WAL mode, then sealed into one immutable file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path

from retrieval.backends.sqlite_catalog import SqliteCatalog
from retrieval.backends.sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from retrieval.backends.sqlite_sql import batched
from retrieval.hashing import text_hash
from retrieval.records import Chunk, Document, Member, Thread, post_role, to_iso

BUILD_CACHE_KIB = 1_048_576
"""Page cache of a building connection (SQLite's ``cache_size``, KiB; memory is taken only as
pages are touched). The whole build is one transaction: with SQLite's default 2 MB, pages of
the chunk table (rows placed by hashed id) and of FTS5 are evicted into the WAL and read back
over and over, and a 1M-chunk build read ~40 GB through syscalls for a 0.5 GB WAL."""

DOCUMENT_TABLES = (
    ("chunks", "doc_id"), ("posts", "doc_id"), ("authorship", "doc_id"),
    ("doc_groups", "doc_id"), ("doc_tags", "doc_id"), ("documents", "id"),
)


def migrate(db: sqlite3.Connection) -> None:
    """Bring a copied catalog from its ``user_version`` up to :data:`SCHEMA_VERSION`, one
    :data:`MIGRATIONS` step at a time, each in its own transaction (the copy is private to
    this ingest, so a failure leaves the served snapshot untouched)."""
    version = max(1, db.execute("PRAGMA user_version").fetchone()[0])
    while version < SCHEMA_VERSION:
        db.executescript(f"BEGIN; {MIGRATIONS[version]} COMMIT;")
        version += 1
        db.execute(f"PRAGMA user_version={version}")


class SqliteCatalogBuilder(SqliteCatalog):
    """A writable catalog; reads (inherited) see the writes made so far."""

    @classmethod
    def create(cls, path: Path, previous: Path | None) -> SqliteCatalogBuilder:
        """Open ``path`` for building, first copying ``previous`` into it when given."""
        if previous is not None:
            source = sqlite3.connect(f"file:{previous}?mode=ro", uri=True)
            target = sqlite3.connect(path)
            with target:
                source.backup(target)
            source.close()
            target.close()
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA cache_size=-{BUILD_CACHE_KIB}")
        if previous is not None:
            migrate(db)
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        return cls(db)

    def has_private(self) -> bool:
        """Not cached: the content is still changing."""
        return bool(self._run("SELECT 1 FROM documents WHERE is_public = 0 LIMIT 1"))

    def put_members(self, members: Sequence[Member]) -> None:
        """See :class:`~retrieval.storage.CatalogBuilder`."""
        self.connection.executemany(
            "INSERT INTO members (id, name, handles, opt_out) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, handles=excluded.handles, opt_out=excluded.opt_out",
            [(m.id, m.name, json.dumps(m.handles), int(m.opt_out)) for m in members],
        )

    def delete_members(self, member_ids: Collection[str]) -> None:
        """See :class:`~retrieval.storage.CatalogBuilder`."""
        for table, column in (("members", "id"), ("authorship", "member_id")):
            self.connection.executemany(f"DELETE FROM {table} WHERE {column}=?", [(m,) for m in member_ids])

    def put_document(self, doc: Document, content_hash: str, source_path: str, chunks: Sequence[Chunk]) -> None:
        """See :class:`~retrieval.storage.CatalogBuilder`."""
        is_thread = isinstance(doc, Thread)
        self.connection.execute(
            "INSERT INTO documents (id, kind, source, source_path, channel, title, url, tags, "
            "visibility, is_public, created_at, body, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.id, "thread" if is_thread else "resource", doc.source, source_path,
                doc.channel if isinstance(doc, Thread) else "", doc.title, doc.url,
                json.dumps(list(doc.tags)), json.dumps(list(doc.visibility)), int(not doc.visibility),
                to_iso(doc.created_at), None if isinstance(doc, Thread) else doc.text, content_hash,
            ),
        )
        self.connection.executemany("INSERT INTO doc_groups VALUES (?, ?)", [(doc.id, g) for g in doc.visibility])
        self.connection.executemany("INSERT INTO doc_tags VALUES (?, ?)", [(doc.id, t) for t in doc.tags])
        self._put_authorship(doc)
        self._put_chunks(chunks)

    def _put_authorship(self, doc: Document) -> None:
        if isinstance(doc, Thread):
            self.connection.executemany(
                "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(p.id, doc.id, i, p.author, to_iso(p.created_at), p.text, p.reply_to, int(p.accepted), p.score)
                 for i, p in enumerate(doc.posts)],
            )
            roles: list[tuple[str, str | None, str, str]] = [
                (doc.id, p.id, p.author, post_role(i, p, doc.posts[0].author))
                for i, p in enumerate(doc.posts)
            ]
        else:
            roles = [(doc.id, None, author, "author") for author in doc.authors]
        self.connection.executemany("INSERT INTO authorship VALUES (?, ?, ?, ?)", roles)

    def _put_chunks(self, chunks: Sequence[Chunk]) -> None:
        self.connection.executemany(
            'INSERT INTO chunks (id, doc_id, post_id, ordinal, section, text, body, start, "end", '
            "author, created_at, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.id, c.doc_id, c.post_id, c.ordinal, c.section, c.text, c.body, c.start, c.end, c.author,
              to_iso(c.created_at), text_hash(c.text)) for c in chunks],
        )

    def delete_documents(self, doc_ids: Collection[str]) -> list[int]:
        """See :class:`~retrieval.storage.CatalogBuilder`."""
        removed = [r[0] for r in batched(self.connection, "SELECT id FROM chunks WHERE doc_id IN ({marks})", doc_ids)]
        for table, column in DOCUMENT_TABLES:
            self.connection.executemany(f"DELETE FROM {table} WHERE {column}=?", [(d,) for d in doc_ids])
        return removed

    def chunk_ids_by_text_hash(self, hashes: Collection[str]) -> dict[str, int]:
        """See :class:`~retrieval.storage.CatalogBuilder`."""
        sql = "SELECT text_hash, id FROM chunks WHERE text_hash IN ({marks})"
        return {r[0]: r[1] for r in batched(self.connection, sql, hashes)}

    def commit(self) -> None:
        """Fold the WAL into the main file so the snapshot is one self-contained, immutable file."""
        self.connection.commit()
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.connection.execute("PRAGMA journal_mode=DELETE")
        self.connection.close()

    def discard(self) -> None:
        """Close without committing."""
        self.connection.close()
