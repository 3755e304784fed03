"""Building a new snapshot: add, replace and delete documents, then swap it in atomically.

Everything is written through the storage Protocols (``storage.py``): the catalog gets the
documents, the lexical and vector indexes get one :class:`~retrieval.views.ChunkEntry` per
chunk (with its vector), so any registered backend can be built the same way.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from retrieval.backends import BackendConfig, build_storage
from retrieval.errors import IndexStateError
from retrieval.index import IndexDir, Manifest, backend_to_build, check_model, now_iso
from retrieval.records import Chunk, Document, Member, Thread, to_iso
from retrieval.storage import StorageBuilder
from retrieval.views import ChunkEntry

log = logging.getLogger(__name__)

Stored = tuple[Document, str, str, Sequence[Chunk], np.ndarray]
"""What :meth:`SnapshotWriter.put_documents` stores per document: the document, its content
hash, its source path, its chunks and their vectors (shape (len(chunks), d))."""


def chunk_entries(doc: Document, chunks: Sequence[Chunk]) -> list[ChunkEntry]:
    """What the indexes store per chunk of ``doc``: its text and every filterable field."""
    kind = "thread" if isinstance(doc, Thread) else "resource"
    channel = doc.channel if isinstance(doc, Thread) else ""
    return [
        ChunkEntry(id=c.id, doc_id=doc.id, kind=kind, source=doc.source, channel=channel, author=c.author,
                   tags=tuple(doc.tags), created_at=to_iso(c.created_at), groups=tuple(doc.visibility), text=c.text)
        for c in chunks
    ]


class SnapshotWriter:
    """Context manager that builds the next snapshot of an index directory.

    The caller holds ``index_dir.lock()``. Nothing is served until :meth:`commit`; on an
    exception, or an exit without commit, the half-built folder and the backend's build are
    discarded and the served snapshot is untouched. The backend is the index directory's
    configured one, or the index's own when the configuration names the default; building
    onto a snapshot of another explicitly configured backend (or model) is refused.
    """

    def __init__(self, index_dir: IndexDir, model_id: str, model_name: str, dimension: int,
                 migrate_to: BackendConfig | None = None):
        self.index_dir = index_dir
        self.model = (model_id, model_name, dimension)
        self.path: Path | None = None
        self.storage: StorageBuilder | None = None
        self.backend = migrate_to or index_dir.backend
        """The backend this snapshot is built with (the index's own when the default is configured)."""
        self.migrating = migrate_to is not None
        """Built with ``migrate_to`` over a snapshot of another backend: the catalog and vectors
        are seeded from it, the lexical index starts empty (:mod:`retrieval.migrate` fills it)."""
        self.committed = False

    def __enter__(self) -> SnapshotWriter:
        try:
            current = self.index_dir.current_path()
            if current is not None:
                manifest = Manifest.read(current)
                check_model(manifest, self.model[0], self.index_dir.root)
                if not self.migrating:
                    self.backend = backend_to_build(manifest, self.index_dir.backend, self.index_dir.root)
            self.path = self.index_dir.new_snapshot_path()
            self.storage = build_storage(self.backend, self.path, self.model[2], current, fresh_lexical=self.migrating)
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
        if self.storage is not None:
            self.storage.discard()
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)

    @property
    def parts(self) -> StorageBuilder:
        """The backend's builders (inside the ``with`` block only)."""
        if self.storage is None:
            raise IndexStateError("the snapshot writer is not open")
        return self.storage

    def document_hashes(self) -> dict[str, tuple[str, str]]:
        """Every stored document: id -> (content hash, source path)."""
        return self.parts.catalog.document_hashes()

    def member_ids(self) -> set[str]:
        """Ids of every stored member."""
        return set(self.parts.catalog.members())

    def reusable_vectors(self, text_hashes: set[str]) -> dict[str, np.ndarray]:
        """Stored vectors of chunks whose embedded text hashes to one of ``text_hashes``."""
        found = self.parts.catalog.chunk_ids_by_text_hash(text_hashes)
        if not found:
            return {}
        vectors = self.parts.vectors.vectors(list(found.values()))
        return dict(zip(found.keys(), vectors, strict=True))

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Remove documents with their posts, chunks, vectors and lexical entries."""
        removed = self.parts.catalog.delete_documents(doc_ids)
        if removed:
            self.parts.lexical.remove(removed)
            self.parts.vectors.remove(removed)

    def put_members(self, members: Sequence[Member]) -> None:
        """Insert or update members."""
        self.parts.catalog.put_members(members)

    def delete_members(self, member_ids: list[str]) -> None:
        """Delete members (forgotten ones: their posts are already left out)."""
        self.parts.catalog.delete_members(member_ids)

    def put_document(
        self, doc: Document, content_hash: str, source_path: str, chunks: Sequence[Chunk], vectors: np.ndarray,
    ) -> None:
        """Store one document (replacing any with the same id), its chunks and their vectors
        (``vectors`` shape (len(chunks), d), one unit row per chunk)."""
        self.put_documents([(doc, content_hash, source_path, chunks, vectors)])

    def put_documents(self, batch: Sequence[Stored]) -> None:
        """Store several documents as :meth:`put_document` does (their ids distinct), the
        indexes receiving one add for the whole batch: what an engine paying per call (a
        Milvus insert) wants for bulk writes."""
        for doc, _, _, chunks, vectors in batch:
            if len(vectors) != len(chunks):
                raise ValueError(f"{doc.id}: {len(chunks)} chunks but {len(vectors)} vectors")
        self.delete_documents([doc.id for doc, *_ in batch])
        entries: list[ChunkEntry] = []
        for doc, content_hash, source_path, chunks, _ in batch:
            self.parts.catalog.put_document(doc, content_hash, source_path, chunks)
            entries += chunk_entries(doc, chunks)
        if entries:
            self.parts.lexical.add(entries)
            self.parts.vectors.add(entries, np.concatenate([vectors for *_, vectors in batch if len(vectors)]))

    def counts(self) -> dict[str, int]:
        """Threads, posts, resources, chunks and members in the snapshot being built."""
        return self.parts.catalog.counts()

    def commit(self, last_ingest: dict[str, object]) -> Manifest:
        """Commit the backend's parts, write the manifest and make the snapshot the served one."""
        assert self.path is not None
        counts = self.counts()
        sizes = (len(self.parts.vectors), self.parts.lexical.count(), counts["chunks"])
        if len(set(sizes)) != 1:
            raise IndexStateError(f"vectors, lexical entries and chunks disagree: {sizes}")
        facts = self.parts.commit()
        model_id, model_name, dimension = self.model
        manifest = Manifest(
            model_id=model_id, model_name=model_name, dimension=dimension,
            vector_kind=str(facts["vectors"].get("kind", "")), counts=counts, created_at=now_iso(),
            last_ingest=last_ingest, backend=self.backend.name, storage=facts,
        )
        manifest.write(self.path)
        self.index_dir.commit(self.path)
        self.committed = True
        log.info("committed snapshot %s (%s backend)", self.path.name, manifest.backend)
        return manifest
