"""Grown benchmark indexes: a base corpus loaded and chunked by the real pipeline, repeated
with varied ids until an index holds about ``target`` chunks, and written through the real
:class:`~retrieval.writer.SnapshotWriter` — so any registered backend (``sqlite-faiss``,
``milvus``) is grown the same way, through its builders, and served by the real API.

Replica ``r`` of document ``D`` is ``D~r`` (its posts ``P~r``; chunk ids derived from those
as the chunker derives them); its vectors are the base vectors plus Gaussian noise (sigma
``noise`` per dimension, then re-normalised: cosine about 0.98 to the original) so that the
vector index does not see exact duplicates; texts are repeated as they are, so lexical posting
lists grow with the replicas. ``private_every=20`` makes every 20th base document (and so each
of its replicas, ~5% of the documents) private to the group ``mentors``.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import timer

PRIVATE_GROUP = "mentors"
BATCH_DOCUMENTS = 400
"""Documents per ``SnapshotWriter.put_documents`` call (one index add per call)."""


@dataclass
class Base:
    """A chunked corpus with its vectors: what every replica is made from."""

    model: tuple[str, str, int]
    """(model id, model name, dimension) of the vectors."""
    members: list[Any]
    documents: list[tuple[Any, list[Any], np.ndarray]] = field(default_factory=list)
    """(document, its chunks, their vectors (n, d))."""

    @property
    def chunks(self) -> int:
        """Chunks in the base."""
        return sum(len(c) for _, c, _ in self.documents)


@dataclass
class Grown:
    """What growing one index took and made."""

    chunks: int = 0
    documents: int = 0
    private_documents: int = 0
    kind: str = ""
    build_s: float = 0.0
    disk_mb: float = 0.0
    builder_peak_mb: float = 0.0


def load_base(paths: Sequence[Path], embedder: Any, private_every: int = 0) -> Base:
    """The documents under ``paths`` as the ingest pipeline loads and chunks them, with
    ``embedder``'s vectors (a cached embedder makes this cheap); every ``private_every``-th
    document (0: none) private to :data:`PRIVATE_GROUP`."""
    from ingest.chunking import Chunker
    from ingest.discover import discover
    from ingest.normalise import nfc_documents
    from ingest.pipeline import load_files
    from ingest.sources.base import Report
    from ingest.validate import collect

    report = Report()
    loaded = collect(load_files(discover(paths, report), report, None), report, [])
    threads, resources = nfc_documents(loaded.threads, loaded.resources)
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
    base = Base((embedder.model_id, embedder.model_name, embedder.dimension), loaded.members)
    for n, doc in enumerate([*threads, *resources]):
        if private_every and n % private_every == 0:
            doc = dataclasses.replace(doc, visibility=(PRIVATE_GROUP,))
        chunks = chunker.chunks(doc)
        base.documents.append((doc, chunks, embedder.embed([c.text for c in chunks]) if chunks else np.zeros((0, 1))))
    return base


def replica(doc: Any, chunks: list[Any], suffix: str) -> tuple[Any, list[Any]]:
    """``doc`` and its chunks with every id suffixed (chunk ids re-derived)."""
    from retrieval.hashing import chunk_id
    from retrieval.records import Thread

    if not suffix:
        return doc, chunks
    if isinstance(doc, Thread):
        posts = tuple(dataclasses.replace(p, id=p.id + suffix, thread_id=p.thread_id + suffix,
                                          reply_to=p.reply_to + suffix if p.reply_to else None) for p in doc.posts)
        doc = dataclasses.replace(doc, id=doc.id + suffix, posts=posts)
    else:
        doc = dataclasses.replace(doc, id=doc.id + suffix)
    out = []
    for c in chunks:
        post_id = c.post_id + suffix if c.post_id else None
        out.append(dataclasses.replace(c, id=chunk_id(doc.id, post_id, c.ordinal), doc_id=doc.id, post_id=post_id))
    return doc, out


def replicas(base: Base, target: int, noise: float, seed: int) -> Iterator[tuple[Any, list[Any], np.ndarray]]:
    """Documents (whole replicas of the base, then the first documents of one more) until
    about ``target`` chunks, each with noisy vectors (replica 0 is the base itself)."""
    rng = np.random.default_rng(seed)
    total, r = 0, 0
    while total < target:
        suffix = f"~{r}" if r else ""
        for doc, chunks, vectors in base.documents:
            if total >= target:
                return
            if r and len(vectors):
                vectors = vectors + rng.normal(0.0, noise, vectors.shape).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            copy, copied = replica(doc, chunks, suffix)
            total += len(copied)
            yield copy, copied, vectors
        r += 1


def grow(base: Base, target: int, out: Path, noise: float, backend: Any = None, seed: int = 0,
         progress: int = 0) -> Grown:
    """Write an index of about ``target`` chunks at ``out`` from ``base`` with the backend
    ``backend`` (a :class:`~retrieval.backends.BackendConfig`; None: the default); every
    ``progress`` documents (0: never) print how far it got."""
    from ingest.pipeline import content_hash
    from retrieval.index import IndexDir
    from retrieval.writer import SnapshotWriter

    index_dir = IndexDir(out, backend) if backend is not None else IndexDir(out)
    grown = Grown()
    with timer() as build, index_dir.lock(), SnapshotWriter(index_dir, *base.model) as writer:
        writer.put_members(base.members)
        batch: list[Any] = []
        written, cpu = 0, time.process_time()
        for doc, chunks, vectors in replicas(base, target, noise, seed):
            batch.append((doc, content_hash(doc, base.model[0]), doc.origin.split(":", 1)[0], chunks, vectors))
            grown.private_documents += bool(doc.visibility)
            if len(batch) >= BATCH_DOCUMENTS:
                writer.put_documents(batch)
                batch = []
                written += BATCH_DOCUMENTS
                if progress and written % progress < BATCH_DOCUMENTS:
                    print(f"  {written:,} documents written, {time.process_time() - cpu:.0f} s CPU", flush=True)
        writer.put_documents(batch)
        manifest = writer.commit({"grown_from": f"{len(base.documents)} documents", "noise": noise})
    grown.build_s = build["s"]
    grown.builder_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    current = index_dir.current_path()
    assert current is not None
    grown.disk_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6  # an embedded engine too
    counts = json.loads((current / "manifest.json").read_text())["counts"]
    grown.chunks, grown.documents = counts["chunks"], counts["threads"] + counts["resources"]
    grown.kind = manifest.vector_kind
    return grown
