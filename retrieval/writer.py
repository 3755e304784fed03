"""Building a new snapshot: add, replace and delete documents, then swap it in atomically."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from types import TracebackType

import numpy as np

from retrieval.cjk import spaced
from retrieval.hashing import text_hash
from retrieval.index import (
    VECTORS_FILE,
    IndexDir,
    Manifest,
    check_model,
    load_or_create_vectors,
    now_iso,
    open_writable,
    seal,
)
from retrieval.records import Chunk, Document, Member, Thread, to_iso

log = logging.getLogger(__name__)


class SnapshotWriter:
    """Context manager that builds the next snapshot of an index directory.

    The caller holds ``index_dir.lock()``. Nothing is served until :meth:`commit`; on an
    exception, or an exit without commit, the half-built folder is removed and the served
    snapshot is untouched.
    """

    def __init__(self, index_dir: IndexDir, model_id: str, model_name: str, dimension: int):
        self.index_dir = index_dir
        self.model = (model_id, model_name, dimension)
        self.path: Path | None = None
        self.committed = False

    def __enter__(self) -> SnapshotWriter:
        try:
            current = self.index_dir.current_path()
            if current is not None:
                check_model(Manifest.read(current), self.model[0], self.index_dir.root)
            self.path = self.index_dir.new_snapshot_path()
            self.db = open_writable(self.path)
            n_chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            self.vectors = load_or_create_vectors(self.path, self.model[2], n_chunks)
        except BaseException:
            self._discard()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.committed:
            self._discard()

    def _discard(self) -> None:
        if getattr(self, "db", None) is not None:
            self.db.close()
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)

    def document_hashes(self) -> dict[str, tuple[str, str]]:
        """Every stored document: id -> (content hash, source path)."""
        rows = self.db.execute("SELECT id, content_hash, source_path FROM documents")
        return {r["id"]: (r["content_hash"], r["source_path"]) for r in rows}

    def member_ids(self) -> set[str]:
        """Ids of every stored member."""
        return {r[0] for r in self.db.execute("SELECT id FROM members")}

    def reusable_vectors(self, text_hashes: set[str]) -> dict[str, np.ndarray]:
        """Stored vectors of chunks whose embedded text hashes to one of ``text_hashes``."""
        found: dict[str, int] = {}
        wanted = list(text_hashes)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            sql = f"SELECT text_hash, id FROM chunks WHERE text_hash IN ({marks})"
            found.update({r[0]: r[1] for r in self.db.execute(sql, part)})
        if not found:
            return {}
        vectors = self.vectors.reconstruct(np.array(list(found.values()), dtype=np.int64))
        return dict(zip(found.keys(), vectors, strict=True))

    def delete_documents(self, doc_ids: list[str]) -> None:
        """Remove documents with their posts, chunks, vectors and FTS rows."""
        for doc_id in doc_ids:
            ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))]
            self.vectors.remove(np.array(ids, dtype=np.int64))
            self.db.executemany("DELETE FROM chunk_fts WHERE rowid=?", [(i,) for i in ids])
            for table, column in (
                ("chunks", "doc_id"), ("posts", "doc_id"), ("authorship", "doc_id"),
                ("doc_groups", "doc_id"), ("doc_tags", "doc_id"), ("documents", "id"),
            ):
                self.db.execute(f"DELETE FROM {table} WHERE {column}=?", (doc_id,))

    def put_members(self, members: list[Member]) -> None:
        """Insert or update members."""
        self.db.executemany(
            "INSERT INTO members (id, name, handles, opt_out) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, handles=excluded.handles, "
            "opt_out=excluded.opt_out",
            [(m.id, m.name, json.dumps(m.handles), int(m.opt_out)) for m in members],
        )

    def put_document(
        self, doc: Document, content_hash: str, source_path: str,
        chunks: list[Chunk], vectors: np.ndarray,
    ) -> None:
        """Store one document (replacing any with the same id), its chunks and their vectors."""
        self.delete_documents([doc.id])
        is_thread = isinstance(doc, Thread)
        self.db.execute(
            "INSERT INTO documents (id, kind, source, source_path, channel, title, url, tags, "
            "visibility, is_public, created_at, body, content_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.id, "thread" if is_thread else "resource", doc.source, source_path,
                doc.channel if isinstance(doc, Thread) else "", doc.title, doc.url,
                json.dumps(list(doc.tags)), json.dumps(list(doc.visibility)),
                int(not doc.visibility), to_iso(doc.created_at),
                None if isinstance(doc, Thread) else doc.text, content_hash,
            ),
        )
        self.db.executemany("INSERT INTO doc_groups VALUES (?, ?)", [(doc.id, g) for g in doc.visibility])
        self.db.executemany("INSERT INTO doc_tags VALUES (?, ?)", [(doc.id, t) for t in doc.tags])
        self._put_authorship(doc)
        self._put_chunks(chunks, vectors)

    def _put_authorship(self, doc: Document) -> None:
        if isinstance(doc, Thread):
            self.db.executemany(
                "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.id, doc.id, i, p.author, to_iso(p.created_at), p.text, p.reply_to,
                     int(p.accepted), p.score)
                    for i, p in enumerate(doc.posts)
                ],
            )
            roles: list[tuple[str, str | None, str, str]] = [
                (doc.id, p.id, p.author, "question" if i == 0 else "accepted" if p.accepted else "answer")
                for i, p in enumerate(doc.posts)
            ]
        else:
            roles = [(doc.id, None, author, "author") for author in doc.authors]
        self.db.executemany("INSERT INTO authorship VALUES (?, ?, ?, ?)", roles)

    def _put_chunks(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.db.executemany(
            'INSERT INTO chunks (id, doc_id, post_id, ordinal, section, text, body, start, "end", '
            "author, created_at, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (c.id, c.doc_id, c.post_id, c.ordinal, c.section, c.text, c.body, c.start, c.end,
                 c.author, to_iso(c.created_at), text_hash(c.text))
                for c in chunks
            ],
        )
        self.db.executemany(
            "INSERT INTO chunk_fts (rowid, text) VALUES (?, ?)", [(c.id, spaced(c.text)) for c in chunks]
        )
        self.vectors.add(np.array([c.id for c in chunks], dtype=np.int64), vectors)

    def counts(self) -> dict[str, int]:
        """Threads, posts, resources, chunks and members in the snapshot being built."""
        one = lambda sql: int(self.db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "threads": one("SELECT count(*) FROM documents WHERE kind='thread'"),
            "posts": one("SELECT count(*) FROM posts"),
            "resources": one("SELECT count(*) FROM documents WHERE kind='resource'"),
            "chunks": one("SELECT count(*) FROM chunks"),
            "members": one("SELECT count(*) FROM members"),
        }

    def commit(self, last_ingest: dict[str, object]) -> Manifest:
        """Seal the snapshot, write its manifest and make it the served one."""
        assert self.path is not None
        counts = self.counts()
        if len(self.vectors) != counts["chunks"]:
            raise RuntimeError(
                f"vectors ({len(self.vectors)}) and chunks ({counts['chunks']}) disagree"
            )
        seal(self.db)
        self.db = None  # type: ignore[assignment]
        self.vectors = self.vectors.resized()  # e.g. flat -> HNSW once the index outgrows exact search
        self.vectors.save(self.path / VECTORS_FILE)
        model_id, model_name, dimension = self.model
        manifest = Manifest(
            model_id=model_id, model_name=model_name, dimension=dimension,
            vector_kind=self.vectors.kind, counts=counts, created_at=now_iso(),
            last_ingest=last_ingest,
        )
        manifest.write(self.path)
        self.index_dir.commit(self.path)
        self.committed = True
        return manifest
