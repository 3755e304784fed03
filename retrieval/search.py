"""Hybrid retrieval: dense similarity (:class:`~retrieval.storage.VectorIndex`) and keyword
search (:class:`~retrieval.storage.LexicalIndex`), fused (``fusion.py``), with filters and
visibility applied by the indexes before their top k is cut.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from retrieval.cjk import nfc
from retrieval.embedding import Embedder
from retrieval.filters import Filters, resolve_author
from retrieval.fusion import get_fuser
from retrieval.index import Snapshot
from retrieval.query_vector import split_title, with_title
from retrieval.storage import Scored
from retrieval.views import ChunkInfo

Mode = Literal["hybrid", "dense", "lexical"]
MAX_CANDIDATES = 5000
WORKERS = 4
"""Threads running keyword searches and title embeddings beside the requests' own threads (a
2-core machine serves a few requests at once)."""


@dataclass
class Hit:
    """One retrieved chunk with what a reader needs to judge and open it."""

    chunk_id: int
    doc_id: str
    kind: str
    post_id: str | None
    title: str
    channel: str
    url: str
    section: str
    text: str
    start: int
    end: int
    author: str | None
    author_name: str | None
    created_at: str | None
    score: float
    similarity: float
    role: str = ""
    """``question``, ``answer``, ``accepted answer`` or ``comment`` (see :data:`HIT_ROLES`); "" for a resource."""
    accepted: bool = False
    post_score: int = 0
    tags: list[str] = field(default_factory=list)
    more: list[Hit] = field(default_factory=list)
    """Other matching chunks of the same document, when results are collapsed."""


class Searcher:
    """Searches one snapshot through its indexes; cheap to create."""

    def __init__(
        self, snapshot: Snapshot, embedder: Embedder, *, fusion: str = "convex", candidates: int = 100,
        title_weight: float = 0.0, question_alpha: float | None = None, **fusion_options: float,
    ) -> None:
        self.snapshot = snapshot
        self.embedder = embedder
        self.fuse = get_fuser(fusion)
        self.fusion_options = fusion_options
        self.candidates = candidates
        self.title_weight = title_weight
        self.question_options = dict(fusion_options)
        if question_alpha is not None:
            self.question_options["alpha"] = question_alpha

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, groups: tuple[str, ...] = (),
        collapse: bool = True, mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The best ``k`` hits for ``query`` that ``groups`` may see and ``filters`` allow.

        With ``collapse``, one hit per document (its best chunk, the rest in ``Hit.more``).
        A blank query finds nothing. When the first line of ``query`` is a title (a body
        follows), the dense side searches with the title's embedding weighted in
        (``title_weight``, :mod:`retrieval.query_vector`) and the fusion uses
        ``question_alpha``; ``Hit.similarity`` stays the cosine to the question as asked.
        ``filters.author`` may be a member id, or a display name or handle naming one member
        ``groups`` may see (:func:`retrieval.filters.resolve_author`).
        """
        if not query.strip():
            return []
        query = nfc(query)  # indexed text is NFC too
        filters = self._with_member_id(filters or Filters(), groups)
        pool = max(self.candidates, k)
        early = self._start_lexical(query, pool, filters, groups) if mode != "dense" else None
        title = self._start_title(query) if mode != "lexical" else None
        vector = self.embedder.embed([query])[0]  # hits' similarity: to the question as asked
        head = None if title is None else title.result()
        probe = with_title(self.embedder, query, vector, self.title_weight, head) if mode != "lexical" else vector
        options = self.question_options if self.title_weight > 0 and split_title(query)[1] else self.fusion_options
        while True:
            fused = self._fuse(query, probe, pool, filters, groups, mode, options, early)
            early = None
            exhausted = len(fused) < pool or pool >= MAX_CANDIDATES
            if not collapse:
                hits = self.hits(fused, vector, groups)
                if len(hits) >= k or exhausted:
                    return hits[:k]
            else:
                kept, enough = self._first_documents(fused, k, groups)
                if enough or exhausted:
                    return collapse_by_document(self.hits(kept, vector, groups))[:k]
            pool *= 4

    def _with_member_id(self, filters: Filters, groups: tuple[str, ...]) -> Filters:
        catalog = self.snapshot.catalog
        if filters.author is None or catalog.members([filters.author], groups):
            return filters
        return resolve_author(filters, catalog.members(None, groups))

    def _first_documents(
        self, fused: list[tuple[int, float]], k: int, groups: tuple[str, ...],
    ) -> tuple[list[tuple[int, float]], bool]:
        """The pairs of ``fused`` (in order) whose chunks belong to the first ``k`` documents
        ``groups`` may see, and whether there were ``k`` such documents. Found from document
        ids alone, so full hits are built only for a collapsed page and its ``more``, not for
        the whole pool (at k=10, about a tenth of the rows and vectors)."""
        documents = self.snapshot.catalog.chunk_documents([i for i, _ in fused], groups)
        first = list(dict.fromkeys(documents[i] for i, _ in fused if i in documents))
        wanted = set(first[:k])
        return [(i, score) for i, score in fused if documents.get(i) in wanted], len(first) >= k

    def _start_lexical(self, query: str, pool: int, filters: Filters, groups: tuple[str, ...]) -> Future[Scored] | None:
        """The keyword search of the first pass, started in a worker thread when the lexical
        index allows it: it then runs on the other core while this thread embeds the question
        and searches the vectors (both release the GIL), so a hybrid query costs about the
        slower of the two sides instead of their sum. None: run it in :meth:`_fuse`."""
        lexical = self.snapshot.lexical
        if not lexical.concurrent:
            return None
        return _workers().submit(lexical.search, query, pool, filters, groups)

    def _start_title(self, query: str) -> Future[np.ndarray] | None:
        """The embedding of the question's title line (when title weighting uses one), started
        in a worker thread so the model embeds title and question side by side (the model
        releases the GIL); None when there is no title to weigh in."""
        title, body = split_title(query)
        if self.title_weight <= 0 or not body:
            return None
        return _workers().submit(lambda: self.embedder.embed([title])[0])

    def question_vector(self, query: str) -> np.ndarray:
        """The unit vector, shape (d,), that :meth:`search` measures ``Hit.similarity`` against
        (the embedding of ``query`` as asked; a query-cached embedder computes it once)."""
        return np.asarray(self.embedder.embed([nfc(query)])[0], dtype=np.float32)

    def nearest(self, vectors: np.ndarray, groups: tuple[str, ...] = ()) -> np.ndarray:
        """For each row of ``vectors`` (unit vectors of this index's model, shape (n, d)), the
        highest cosine to a chunk ``groups`` may see, no filters (shape (n,)): how close the
        nearest thing this community said is (the off-topic signal of knowledge gaps,
        ``app/gaps.py``). 0.0 when ``groups`` see no chunk. One pass over the index for all rows
        where the backend can; approximate when the vector index is (IVF, HNSW, PQ)."""
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        found = self.snapshot.vectors.search_many(matrix, 1, Filters(), groups) if len(matrix) else []
        return np.array([row[0][1] if row else 0.0 for row in found], dtype=np.float32)

    def _fuse(
        self, query: str, vector: np.ndarray, pool: int, filters: Filters, groups: tuple[str, ...], mode: Mode,
        options: dict[str, float], early: Future[Scored] | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, fused score) pairs, best first, at most ``pool``; ``early``: this pass's
        keyword search, already started."""
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self.snapshot.vectors.search(vector, pool, filters, groups)
        if mode in ("hybrid", "lexical"):
            lexical = self.snapshot.lexical.search(query, pool, filters, groups) if early is None else early.result()
        if mode == "hybrid":
            fused = self.fuse(dense, lexical, **options)
        else:
            fused = dict(dense or lexical)
        return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:pool]

    def hits(self, fused: list[tuple[int, float]], vector: np.ndarray, groups: tuple[str, ...]) -> list[Hit]:
        """Hits for (chunk id, fused score) pairs that ``groups`` may see, each with its cosine
        similarity to ``vector``."""
        if not fused:
            return []
        ids = [i for i, _ in fused]
        similarity = self.snapshot.vectors.vectors(ids) @ vector
        infos = self.snapshot.catalog.chunks(ids, groups)
        hits = []
        for (chunk_id, score), sim in zip(fused, similarity, strict=True):
            info = infos.get(chunk_id)
            if info is not None:
                hits.append(hit_from(info, score, float(sim)))
        return hits


_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    """The process's search workers, started on first use (threads end with the process; each
    keeps its own read-only connection per snapshot, closed with the snapshot)."""
    with _pool_lock:
        if not _pool:
            _pool.append(ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="search"))
        return _pool[0]


def collapse_by_document(hits: list[Hit]) -> list[Hit]:
    """Keep each document's best hit, attaching its other hits to ``more``."""
    best: dict[str, Hit] = {}
    for hit in hits:
        if hit.doc_id in best:
            best[hit.doc_id].more.append(hit)
        else:
            best[hit.doc_id] = hit
    return list(best.values())


HIT_ROLES = {"question": "question", "accepted": "accepted answer", "answer": "answer", "comment": "comment"}
"""A post's stored role (:func:`retrieval.records.post_role`) -> the label its hits carry."""


def hit_label(info: ChunkInfo) -> str:
    """The label a chunk's hits carry: "" for a resource, "question" for the thread's first
    post, else the post's stored role (:data:`HIT_ROLES`), except that the asker's own
    follow-up, stored as part of their question for expert finding, is shown as the reply it
    is ("answer"), so an answer never takes it for the thread's opening question."""
    if info.position is None:
        return ""
    if info.position == 0:
        return "question"
    if info.role == "question" or info.role not in HIT_ROLES:
        return "accepted answer" if info.accepted else "answer"
    return HIT_ROLES[info.role]


def hit_from(info: ChunkInfo, score: float, similarity: float) -> Hit:
    """A :class:`Hit` for a chunk, its fused ``score`` and cosine ``similarity``; its ``role``
    is :func:`hit_label`."""
    role = hit_label(info)
    return Hit(
        chunk_id=info.id, doc_id=info.doc_id, kind=info.kind, post_id=info.post_id, title=info.title,
        channel=info.channel, url=info.url, section=info.section, text=info.body, start=info.start, end=info.end,
        author=info.author, author_name=info.author_name, created_at=info.created_at, score=round(score, 6),
        similarity=round(similarity, 4), role=role, accepted=info.accepted, post_score=info.post_score,
        tags=list(info.tags),
    )


def related_documents(searcher: Searcher, doc_id: str, k: int = 5, groups: tuple[str, ...] = ()) -> list[Hit]:
    """Documents most similar to ``doc_id`` (by the mean of its chunk vectors), itself excluded;
    nothing when ``groups`` may not see ``doc_id``."""
    snapshot = searcher.snapshot
    own = snapshot.catalog.chunk_ids([doc_id], groups).get(doc_id, [])
    if not own:
        return []
    centre = snapshot.vectors.vectors(own).mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    found = snapshot.vectors.search(centre, searcher.candidates, Filters(), groups)
    mine = set(own)
    ranked = [(i, 1.0 / (rank + 1)) for rank, (i, _) in enumerate(found) if i not in mine]
    hits = [h for h in collapse_by_document(searcher.hits(ranked, centre, groups)) if h.doc_id != doc_id]
    return hits[:k]
