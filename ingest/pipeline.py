"""The ingest pipeline: discover -> load -> check -> plan -> chunk -> embed -> write -> swap.

Incremental: a document whose content hash is unchanged is not touched; a changed
document's chunks reuse the stored vector of any chunk whose text did not change. An ingest
that changes nothing writes no snapshot at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ingest.chunking import CHUNKER_VERSION, Chunker
from ingest.discover import Found, discover
from ingest.duplicates import drop_duplicates
from ingest.forget import drop_forgotten, forgotten_members
from ingest.held import (
    damaged_documents,
    damaged_members,
    document_sources,
    held_back,
    held_members,
    is_damaged,
    member_sources,
    warn_held,
)
from ingest.normalise import nfc_documents
from ingest.prune import checked_roots, removals
from ingest.sources import get_loader
from ingest.sources.base import Problem, Record, Report
from ingest.validate import Loaded, collect
from retrieval.embedding import Embedder
from retrieval.errors import IngestError
from retrieval.hashing import text_hash
from retrieval.index import IndexDir, Snapshot
from retrieval.records import Chunk, Document, Member, Resource, Thread
from retrieval.writer import SnapshotWriter

log = logging.getLogger(__name__)


class ProgressSink(Protocol):
    """Where an ingest reports its stages (loading, chunking, embedding): rich's ``Progress``
    on a terminal, plain lines elsewhere (``app.cli_progress``)."""

    def add_task(self, description: str, *, total: float | None = ...) -> Any:
        """Start a stage of ``total`` steps; returns its id for :meth:`advance`."""
        ...

    def advance(self, task_id: Any, advance: float = ...) -> None:
        """``advance`` more steps of stage ``task_id`` are done."""
        ...


@dataclass
class IngestSummary:
    """What one ingest did; ``errors`` > 0 means some input was skipped."""

    files: int = 0
    documents_new: int = 0
    documents_changed: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    documents_kept: int = 0
    """Changed documents from a source with errors whose indexed version was kept (:mod:`ingest.held`)."""
    chunks_embedded: int = 0
    chunks_reused: int = 0
    members: int = 0
    """Members in the index after this ingest (what ``townsquare stats`` counts), however many
    this run's input named."""
    members_new: int = 0
    """Members this ingest added to the index."""
    skipped_files: int = 0
    seconds: float = 0.0
    snapshot: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Number of error-level problems."""
        return sum(p.level == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        """Number of warning-level problems."""
        return sum(p.level == "warning" for p in self.problems)

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly view (stored in the manifest as ``last_ingest``)."""
        data = asdict(self)
        data["problems"] = [str(p) for p in self.problems[:50]]
        data.update(errors=self.errors, warnings=self.warnings)
        return data


@dataclass
class Plan:
    """Which documents to write and which to remove."""

    write: list[Document]
    unchanged: int
    remove: list[str]
    new_ids: set[str]
    members: list[Member]
    forget: list[str] = field(default_factory=list)
    """Stored members to delete (``townsquare forget --posts``)."""
    source_paths: dict[str, str] = field(default_factory=dict)
    """Document id -> absolute path of the file it came from (what a later prune checks)."""
    held: set[str] = field(default_factory=set)
    """Loaded documents not written because their source had errors (:mod:`ingest.held`)."""
    hashes: dict[str, str] = field(default_factory=dict)
    """Document id -> :func:`content_hash` of each document in ``write`` (computed once, in the plan)."""


def ingest(
    paths: Iterable[Path], index_dir: IndexDir, embedder: Embedder, *, prune: bool = False,
    max_file_bytes: int = 50 * 1024 * 1024, batch_size: int = 32, progress: ProgressSink | None = None,
    format: str | None = None,
) -> IngestSummary:
    """Bring ``index_dir`` up to date with the sources under ``paths``.

    ``format`` forces one loader for every path given (see ``ingest.sources.LOADERS``);
    without it each source is detected by its content. Bad input is reported in the summary
    and skipped; everything else is ingested. Any exception leaves the previously served
    snapshot untouched. A document from a source with errors never replaces its indexed
    version (see :mod:`ingest.held`). ``prune`` removes only documents from under ``paths`` whose source
    is gone (see :mod:`ingest.prune`).

    Raises:
        UnknownFormatError: ``format`` names no loader (the message lists the known ones).
        IngestError: with ``prune``, a given path is missing or unreadable; without it, every
            given path is missing (nothing changes, no index is created).
    """
    started = time.perf_counter()
    forced = get_loader(format) if format else None
    report = Report()
    summary = IngestSummary(problems=report.problems)
    paths = list(paths)
    roots = checked_roots(paths) if prune else []
    if paths and not any(Path(p).exists() for p in paths):  # a typo must not create an empty index
        raise IngestError(f"{paths[0]}: no such file or folder; nothing was ingested")
    with index_dir.lock():
        index_dir.sweep_unserved()  # copies left by a killed ingest
        current = index_dir.open(embedder.model_id) if index_dir.exists() else None
        sources = discover(paths, report, max_file_bytes, forced)
        summary.files = len(sources)
        source_paths: dict[str, str] = {}
        forgotten = forgotten_members(index_dir.root)
        records = drop_forgotten(load_files(sources, report, progress, source_paths), forgotten, report)
        planning = progress.add_task("planning", total=1) if progress else None  # checks and diff, no model
        indexed = _indexed_members(current)
        loaded = collect(records, report, [m for m in indexed if m.id not in forgotten])
        loaded.threads, loaded.resources = nfc_documents(loaded.threads, loaded.resources)
        duplicate_of = drop_duplicates(loaded, current.catalog if current else None, report)
        report.close()
        doc_sources, failed = document_sources(records), report.files_with_errors()
        damaged = damaged_documents(doc_sources, failed)
        damaged_people = damaged_members(member_sources(records, loaded.documents, doc_sources), failed)
        plan = make_plan(loaded, current, embedder.model_id, prune, report, damaged, damaged_people)
        plan.forget = sorted(forgotten & {m.id for m in indexed})
        if prune:
            seen = {d.id for d in loaded.documents} | set(duplicate_of.values())
            failed = report.files_with_errors()
            kept = [source.path for source, _ in sources if is_damaged(source.rel, failed)]
            plan.remove = sorted({*plan.remove, *removals(_stored_paths(current), seen, roots, kept, report)})
        plan.source_paths = source_paths
        if current is not None:
            current.close()
        summary.documents_unchanged = plan.unchanged
        summary.documents_new = len(plan.new_ids)
        summary.documents_changed = len(plan.write) - len(plan.new_ids)
        summary.documents_removed = len(plan.remove)
        summary.documents_kept = len(plan.held)
        summary.members, summary.members_new = member_counts(indexed, plan)
        if progress and planning is not None:
            progress.advance(planning)
        if plan.write or plan.remove or plan.members or plan.forget or current is None:
            write_plan(plan, index_dir, embedder, summary, batch_size, progress, started)
    summary.skipped_files = len({p.where.split(":", 1)[0] for p in report.problems if "skipped" in p.message})
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def member_counts(indexed: list[Member], plan: Plan) -> tuple[int, int]:
    """(members in the index once ``plan`` is written, members it adds), from the members
    stored before (``indexed``). Not the members loaded in this run: a re-ingest loads only
    those its members files declare, as the rest (accounts, unlisted authors) already exist."""
    stored = {m.id for m in indexed}
    added = {m.id for m in plan.members} - stored
    return len((stored | added) - set(plan.forget)), len(added)


def load_files(
    sources: list[Found], report: Report, progress: ProgressSink | None, source_paths: dict[str, str] | None = None,
) -> list[tuple[str, Record]]:
    """Run each source's loader; a loader that crashes costs that source only (what it
    yielded before the crash is kept, as for any other error it reports). ``source_paths``
    receives each document's id -> the absolute path of its file (or claimed folder)."""
    records: list[tuple[str, Record]] = []
    task = progress.add_task("loading", total=len(sources)) if progress else None
    for source, loader in sources:
        try:
            for record in loader.load(source, report):
                records.append((source.rel, record))
                if source_paths is not None and isinstance(record, Thread | Resource):
                    source_paths.setdefault(record.id, str(source.path.resolve()))
        except Exception as e:  # noqa: BLE001 - one bad file must not stop the ingest
            log.debug("loader %s failed on %s", loader.name, source.rel, exc_info=True)
            report.error(source.rel, f"could not be read ({type(e).__name__}: {e}); skipped")
        if progress and task is not None:
            progress.advance(task)
    return records


def content_hash(doc: Document, model_id: str) -> str:
    """Hash of everything that shapes a document's chunks and rows."""
    data = asdict(doc)
    data.pop("origin", None)
    payload = json.dumps([CHUNKER_VERSION, model_id, data], sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def make_plan(
    loaded: Loaded, current: Snapshot | None, model_id: str, prune: bool, report: Report,
    damaged: dict[str, str] | None = None, damaged_people: dict[str, str] | None = None,
) -> Plan:
    """Compare loaded records with the served snapshot. ``damaged`` maps the ids of documents
    from sources with errors to such a source: those never replace a stored document;
    ``damaged_people`` the same for members derived only from such sources: those never replace
    a stored member and are added only as authors of a written document (:mod:`ingest.held`).
    What ``prune`` removes is added by :func:`ingest`, which knows the
    paths given (:func:`ingest.prune.removals`)."""
    hashes = current.catalog.document_hashes() if current is not None else {}
    stored = {doc_id: content for doc_id, (content, _) in hashes.items()}
    stored_members = current.catalog.members() if current is not None else {}
    fresh = {d.id: content_hash(d, model_id) for d in loaded.documents}
    changed = [d for d in loaded.documents if stored.get(d.id) != fresh[d.id]]
    moves = _moves(current, changed)
    held = held_back((d.id for d in changed), set(stored), {old: new for old, (new, _, _) in moves.items()},
                     damaged or {})
    warn_held(held, damaged or {}, report)
    write = [d for d in changed if d.id not in held]
    remove = sorted(_superseded(moves, held, report))
    members = [m for m in loaded.members if stored_members.get(m.id) != m]
    kept = held_members(members, set(stored_members), write, damaged_people or {}, report)
    members = [m for m in members if m.id not in kept]
    return Plan(
        write=write, unchanged=len(loaded.documents) - len(changed), remove=remove,
        new_ids={d.id for d in write if d.id not in stored}, members=members, held=held,
        hashes={d.id: fresh[d.id] for d in write},
    )


def _moves(current: Snapshot | None, changed: list[Document]) -> dict[str, tuple[str, str, str]]:
    """Stored threads holding a post that a changed thread now carries: stored doc id ->
    (the loaded doc's id, the post's id, the loaded doc's origin)."""
    carried = {p.id: (d.id, d.origin) for d in changed if isinstance(d, Thread) for p in d.posts}
    if current is None or not carried:
        return {}
    found: dict[str, tuple[str, str, str]] = {}
    for post_id, doc_id in current.catalog.post_documents(list(carried)).items():
        new_id, origin = carried[post_id]
        if doc_id != new_id and doc_id not in found:
            found[doc_id] = (new_id, post_id, origin)
    return found


def _superseded(moves: dict[str, tuple[str, str, str]], held: set[str], report: Report) -> set[str]:
    """Stored threads to remove: a post of theirs is carried by a thread written now (the
    message was regrouped: a mail whose ancestors arrived later, a chat conversation whose
    gap filled in), so the old thread is replaced and each post stays stored once. A thread
    held back (``held``) supersedes nothing."""
    found: set[str] = set()
    for doc_id, (new_id, post_id, origin) in moves.items():
        if new_id not in held:
            found.add(doc_id)
            report.warning(origin, f"post {post_id!r} moved from thread {doc_id!r} to {new_id!r}; "
                           "the old thread is replaced")
    return found


def write_plan(
    plan: Plan, index_dir: IndexDir, embedder: Embedder, summary: IngestSummary,
    batch_size: int, progress: ProgressSink | None, started: float,
) -> None:
    """Chunk, embed what is new, and commit a new snapshot."""
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
    task = progress.add_task("chunking", total=len(plan.write)) if progress else None
    chunked: list[tuple[Document, list[Chunk]]] = []
    for doc in plan.write:
        chunked.append((doc, chunker.chunks(doc)))
        if progress and task is not None:
            progress.advance(task)
    opening = progress.add_task("opening", total=1) if progress else None  # copies the served snapshot
    with SnapshotWriter(index_dir, embedder.model_id, embedder.model_name, embedder.dimension) as writer:
        if progress and opening is not None:
            progress.advance(opening)
        all_chunks = [c for _, chunks in chunked for c in chunks]
        vectors = embed_chunks(all_chunks, writer, embedder, summary, batch_size, progress)
        put_documents(plan, chunked, vectors, writer, progress)
        summary.seconds = round(time.perf_counter() - started, 2)
        # one step: the backends build their indexes (HNSW, BM25) and seal the snapshot, which
        # takes minutes on big indexes; the plain lines' timer keeps showing it runs
        task = progress.add_task("committing", total=1) if progress else None
        manifest = writer.commit(summary.as_dict())
        if progress and task is not None:
            progress.advance(task)
        summary.snapshot = writer.path.name if writer.path else ""
        log.info("committed snapshot %s: %s", summary.snapshot, manifest.counts)


def put_documents(
    plan: Plan, chunked: list[tuple[Document, list[Chunk]]], vectors: np.ndarray, writer: SnapshotWriter,
    progress: ProgressSink | None,
) -> None:
    """Apply ``plan`` to the snapshot being written: removals, members, then each document
    with its chunks and their rows of ``vectors`` (in ``chunked`` order)."""
    writer.delete_documents(plan.remove)
    writer.put_members(plan.members)
    writer.delete_members(plan.forget)
    task = progress.add_task("writing", total=len(chunked)) if progress else None
    offset = 0
    for doc, chunks in chunked:
        writer.put_document(
            doc, plan.hashes[doc.id], plan.source_paths.get(doc.id, doc.origin.split(":", 1)[0]),
            chunks, vectors[offset : offset + len(chunks)],
        )
        offset += len(chunks)
        if progress and task is not None:
            progress.advance(task)


def embed_chunks(
    chunks: list[Chunk], writer: SnapshotWriter, embedder: Embedder, summary: IngestSummary,
    batch_size: int, progress: ProgressSink | None,
) -> np.ndarray:
    """Vectors for ``chunks``: reused where the same text was embedded before, else computed."""
    hashes = [text_hash(c.text) for c in chunks]
    known = writer.reusable_vectors(set(hashes))
    # similar token counts side by side, so each model batch pads little (character counts are
    # a poor proxy on forum text; counting costs about 1% of embedding the text)
    todo = sorted({h: c.text for h, c in zip(hashes, chunks, strict=True) if h not in known}.items(),
                  key=lambda item: (embedder.count_tokens(item[1]), item[0]))
    task = progress.add_task("embedding", total=len(todo)) if progress else None
    # one model batch per call, so progress moves every batch (a few seconds), not every 256
    # texts (12-38 s on a loaded machine); the texts are in token order already, so the batches
    # are the ones a bigger call would cut, and the time is the same (the sample's 679 chunks:
    # 10.2 s by batch, 10.3 s by 256, ONNX under the bench lock)
    for start in range(0, len(todo), batch_size):
        step = todo[start : start + batch_size]
        vectors = embedder.embed([text for _, text in step], batch_size=batch_size)
        known.update(zip((h for h, _ in step), vectors, strict=True))
        if progress and task is not None:
            progress.advance(task, len(step))
    summary.chunks_embedded = len(todo)
    summary.chunks_reused = len(chunks) - len(todo)
    out = np.zeros((len(chunks), embedder.dimension), dtype=np.float32)
    for row, digest in enumerate(hashes):
        out[row] = known[digest]
    return out


def _indexed_members(current: Snapshot | None) -> list[Member]:
    if current is None:
        return []
    return list(current.catalog.members().values())


def _stored_paths(current: Snapshot | None) -> dict[str, str]:
    return {doc_id: path for doc_id, (_, path) in current.catalog.document_hashes().items()} if current else {}
