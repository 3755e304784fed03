"""Fusion settings for the quality sweep, evaluated offline so a grid of settings costs one
retrieval per query.

``Candidates`` holds what ``retrieval.search.Searcher`` sees for a query (FAISS neighbours and
its own FTS5 bm25() candidates), with their scores. ``searcher_like``
replays the Searcher's hybrid loop exactly — fuse the chunk lists with a fuser of
``retrieval.fusion``, ties by chunk id, cut to the pool, grow the pool x4 until the page is
full, collapse per document — so the ``rrf`` and ``convex`` families measure the product's own
fusers (the sweep checks it reproduces ``Searcher.search``). Two prototypes that are not in
the product fuse at document level instead (each list collapsed to its documents' best chunk
first):

- ``doc-rrf``: weighted RRF over the two document rankings;
- ``doc-convex``: ``alpha * dense + (1 - alpha) * lexical`` on min-max normalised document
  scores (Bruch, Gai & Ingber 2023, "An analysis of fusion functions for hybrid retrieval").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from retrieval.filters import Filters
from retrieval.fusion import get_fuser
from retrieval.search import MAX_CANDIDATES

K = TypeVar("K", int, str)
Ranking = list[str]
"""Document ids, best first."""


@dataclass
class Candidates:
    """Dense and lexical candidates of one query, best first, with their scores."""

    dense_ids: list[int]
    dense_scores: list[float]
    lexical_ids: list[int]
    lexical_scores: list[float]
    """FTS5 bm25() negated, so higher is better (as the Searcher's lexical list)."""
    depth: int
    """How deep both lists were fetched; a pool deeper than this cannot be reproduced."""


def fetch_candidates(searcher: Any, vector: np.ndarray, query: str, depth: int) -> Candidates:
    """The top ``depth`` dense and lexical candidates of ``searcher`` (public corpus, no
    filters), both from the snapshot's own indexes (as the Searcher asks them) so the replay stays exact."""
    dense = searcher.snapshot.vectors.search(vector, depth, Filters(), ())
    lexical = searcher.snapshot.lexical.search(query, depth, Filters(), ())
    return Candidates([i for i, _ in dense], [s for _, s in dense], [int(i) for i, _ in lexical],
                      [float(s) for _, s in lexical], depth)


def chunk_documents(catalog: Any) -> dict[int, str]:
    """Chunk id -> document id for every public document of a snapshot's catalog."""
    found = catalog.chunk_ids(list(catalog.document_hashes()), ())
    return {int(c): doc_id for doc_id, ids in found.items() for c in ids}


def collapse(chunk_ids: Sequence[int], doc_of: dict[int, str]) -> Ranking:
    """Documents in the order of their best chunk."""
    return list(dict.fromkeys(doc_of[c] for c in chunk_ids))


def rrf_scores(rankings: Sequence[tuple[Sequence[K], float]], k: float) -> dict[K, float]:
    """Weighted reciprocal-rank fusion, as ``retrieval.fusion.rrf``, over any items."""
    fused: dict[K, float] = {}
    for items, weight in rankings:
        for rank, item in enumerate(items, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def searcher_like(
    c: Candidates, doc_of: dict[int, str], n_docs: int, *, mode: str = "hybrid", fusion: str = "convex",
    pool: int = 100, options: dict[str, float] | None = None,
) -> Ranking:
    """What ``Searcher.search(k=n_docs, collapse=True, mode=mode)`` with the fuser ``fusion``
    and its ``options`` returns, as document ids."""
    fuse, options = get_fuser(fusion), options or {}
    pool = max(pool, n_docs)
    while True:
        dense = list(zip(c.dense_ids[:pool], c.dense_scores[:pool], strict=True)) if mode != "lexical" else []
        lexical = list(zip(c.lexical_ids[:pool], c.lexical_scores[:pool], strict=True)) if mode != "dense" else []
        fused_scores = fuse(dense, lexical, **options) if mode == "hybrid" else dict(dense or lexical)
        fused = sorted(fused_scores.items(), key=lambda x: (-x[1], x[0]))[:pool]
        page = collapse([i for i, _ in fused], doc_of)
        exhausted = len(fused) < pool or pool >= MAX_CANDIDATES
        if len(page) >= n_docs or exhausted or pool * 4 > c.depth:
            return page[:n_docs]
        pool *= 4


def doc_best(ids: Sequence[int], scores: Sequence[float], doc_of: dict[int, str]) -> dict[str, float]:
    """Each document's best chunk score (lists are best first)."""
    best: dict[str, float] = {}
    for chunk_id, score in zip(ids, scores, strict=True):
        best.setdefault(doc_of[chunk_id], score)
    return best


def doc_rrf(
    c: Candidates, doc_of: dict[int, str], n_docs: int, *, rrf_k: float = 60, lexical_weight: float = 0.5,
    pool: int = 100,
) -> Ranking:
    """RRF over document rankings (each list collapsed to its documents first)."""
    dense = collapse(c.dense_ids[:pool], doc_of)
    lexical = collapse(c.lexical_ids[:pool], doc_of)
    fused = rrf_scores([(dense, 1.0), (lexical, lexical_weight)], rrf_k)
    return [d for d, _ in sorted(fused.items(), key=lambda x: (-x[1], x[0]))][:n_docs]


def minmax(scores: dict[K, float]) -> dict[K, float]:
    """Scores rescaled to [0, 1] within the list (all 1.0 when they are equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {key: (value - low) / span if span > 0 else 1.0 for key, value in scores.items()}


def convex_scores(dense: dict[K, float], lexical: dict[K, float], alpha: float) -> dict[K, float]:
    """``alpha * dense + (1 - alpha) * lexical`` after min-max normalisation of each list;
    an item missing from a list scores that list's minimum (0 after normalisation)."""
    d, x = minmax(dense), minmax(lexical)
    return {key: alpha * d.get(key, 0.0) + (1 - alpha) * x.get(key, 0.0) for key in d.keys() | x.keys()}


def doc_convex(
    c: Candidates, doc_of: dict[int, str], n_docs: int, *, alpha: float = 0.9, pool: int = 100,
) -> Ranking:
    """Score fusion at document level: each list collapsed to its documents' best scores first."""
    fused = convex_scores(
        doc_best(c.dense_ids[:pool], c.dense_scores[:pool], doc_of),
        doc_best(c.lexical_ids[:pool], c.lexical_scores[:pool], doc_of), alpha,
    )
    return [d for d, _ in sorted(fused.items(), key=lambda x: (-x[1], x[0]))][:n_docs]


@dataclass(frozen=True)
class Setting:
    """One point of the sweep grid: a fusion family and its parameters."""

    family: str
    params: tuple[tuple[str, float], ...]

    def label(self) -> str:
        """Short human-readable name."""
        return self.family + "(" + ", ".join(f"{k}={v:g}" for k, v in self.params) + ")"

    def rank(self, c: Candidates, doc_of: dict[int, str], n_docs: int) -> Ranking:
        """The document ranking this setting gives."""
        kwargs = dict(self.params)
        pool = int(kwargs.pop("pool", 100))
        if self.family in ("dense", "lexical"):
            return searcher_like(c, doc_of, n_docs, mode=self.family, pool=pool)
        if self.family in ("rrf", "convex"):
            return searcher_like(c, doc_of, n_docs, fusion=self.family, pool=pool, options=kwargs)
        if self.family == "doc-rrf":
            return doc_rrf(c, doc_of, n_docs, rrf_k=kwargs["rrf_k"], lexical_weight=kwargs["lexical_weight"], pool=pool)
        if self.family == "doc-convex":
            return doc_convex(c, doc_of, n_docs, alpha=kwargs["alpha"], pool=pool)
        raise ValueError(f"unknown fusion family {self.family!r}")


def grid() -> list[Setting]:
    """The sweep: RRF (the product's, over chunks, and over documents) across rrf_k, lexical
    weight and candidate depth; convex score fusion (the product's, over chunks, and over
    documents) across the dense weight alpha and candidate depth."""
    settings = [Setting("dense", (("pool", 100),)), Setting("lexical", (("pool", 100),))]
    for family in ("rrf", "doc-rrf"):
        for rrf_k in (10, 30, 60, 100):
            for weight in (0.1, 0.25, 0.5, 1.0):
                for pool in (50, 100, 200):
                    params = (("rrf_k", rrf_k), ("dense_weight", 1.0), ("lexical_weight", weight), ("pool", pool))
                    settings.append(Setting(family, params if family == "rrf" else tuple(
                        p for p in params if p[0] != "dense_weight")))
    for family in ("convex", "doc-convex"):
        for alpha in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99):
            for pool in (50, 100, 200):
                settings.append(Setting(family, (("alpha", alpha), ("pool", pool))))
    return settings
