"""Offline sweep of ranking levers on the forum dev sets (``bench/forum_sets.py``).

For every query the full dense score vector (exact inner product over every chunk vector of
the index, so any pool can be cut from it) and the FTS5 candidates are fetched once; a grid of
settings then re-ranks them without touching the indexes again:

- ``qvec``: the query vector: ``full`` = embed(title + body) (shipped); ``t<w>`` =
  normalise(w * embed(title) + (1 - w) * embed(title + body)); equal for body-less queries;
- ``prf``: dense pseudo-relevance feedback (Rocchio on vectors): the query vector plus
  ``beta`` x the mean of the top ``m`` chunk vectors, renormalised, then searched again;
- ``lex``: the FTS5 query: ``sel`` = the product's (16 rarest words); ``title2`` = the same
  with the title's words counted twice (their phrase repeated in the MATCH);
- fusion ``alpha`` (convex, product's ``retrieval.fusion.convex``; 1.0 = dense only) over a
  chunk pool of 100, grown x4 while the page is short (as ``Searcher.search``);
- ``collapse``: a document's score = its best chunk (``max``, shipped) or ``max + 0.1 x sum of
  its other chunks in the pool`` (``sum``).

nDCG@10 uses linear gains (trec_eval's, as ``retrieval.evaluation``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from retrieval.backends.fts5 import fts_query
from retrieval.fusion import convex
from retrieval.search import MAX_CANDIDATES
from retrieval.words import query_words

LEX_DEPTH = 1600


@dataclass(frozen=True)
class Setting:
    qvec: str = "full"
    prf: tuple[float, int] = (0.0, 0)
    lex: str = "sel"
    alpha: float = 0.9
    collapse: str = "max"

    def label(self) -> str:
        prf = "off" if not self.prf[0] else f"{self.prf[0]:g}x{self.prf[1]}"
        return f"qvec={self.qvec} prf={prf} lex={self.lex} alpha={self.alpha:g} collapse={self.collapse}"


@dataclass
class Index:
    """What the sweep needs of one snapshot."""

    ids: np.ndarray
    matrix: np.ndarray
    doc_of: dict[int, str]
    lexical: Any


def load_index(snapshot: Any) -> Index:
    from bench.fusion import chunk_documents

    doc_of = chunk_documents(snapshot.catalog)
    ids = np.array(sorted(doc_of), dtype=np.int64)
    return Index(ids, snapshot.vectors.vectors(ids.tolist()).astype(np.float32), doc_of, snapshot.lexical)


def normalise(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) or 1.0)


def lexical(index: Index, title: str, body: str, kind: str) -> list[tuple[int, float]]:
    """FTS5 candidates for the query variant ``kind`` (see the module doc)."""
    text = f"{title}\n{body}" if body else title
    if kind == "sel":
        return [(int(i), float(s)) for i, s in index.lexical.search(text, LEX_DEPTH, _no_filters(), ())]
    words = index.lexical.selective(query_words(text))
    if kind == "title2":
        title_words = set(query_words(title))
        words = words + [w for w in words if w in title_words]
    match = fts_query(words)
    if not match:
        return []
    return [(int(i), float(s)) for i, s in index.lexical._ranked(match, LEX_DEPTH)]


def _no_filters() -> Any:
    from retrieval.filters import Filters

    return Filters()


def ranked_docs(
    dense: np.ndarray, order: np.ndarray, index: Index, lex: list[tuple[int, float]], alpha: float,
    collapse: str, n_docs: int, skip: str | None,
) -> list[str]:
    """Documents as the Searcher's loop would give them (pool 100, grown x4)."""
    pool = 100
    while True:
        top = order[:pool]
        d = [(int(index.ids[j]), float(dense[j])) for j in top if np.isfinite(dense[j])] if alpha > 0 else []
        x = lex[:pool] if alpha < 1 else []
        fused = convex(d, x, alpha=alpha) if d and x else dict(d or x)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:pool]
        docs = to_docs(ranked, index.doc_of, collapse, skip)
        if len(docs) >= n_docs or pool >= MAX_CANDIDATES or pool >= len(order):
            return docs[:n_docs]
        pool *= 4


def to_docs(ranked: Sequence[tuple[int, float]], doc_of: dict[int, str], collapse: str, skip: str | None) -> list[str]:
    best: dict[str, float] = {}
    extra: dict[str, float] = {}
    for chunk, score in ranked:
        doc = doc_of[chunk]
        if doc == skip:
            continue
        if doc in best:
            extra[doc] = extra.get(doc, 0.0) + score
        else:
            best[doc] = score
    if collapse == "max":
        return list(best)
    scores = {d: s + 0.1 * extra.get(d, 0.0) for d, s in best.items()}
    return sorted(scores, key=lambda d: -scores[d])


def ndcg10(ranked: Sequence[str], relevant: dict[str, float]) -> float:
    """nDCG@10, linear gains (as trec_eval)."""
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(relevant.values(), reverse=True)[:10]))
    got = sum(relevant.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    return got / ideal if ideal else 0.0


def query_vectors(embedder: Any, title: str, body: str, names: set[str]) -> dict[str, np.ndarray]:
    """``full`` and each ``t<w>`` of ``names`` (see the module doc)."""
    full = embedder.embed([f"{title}\n{body}" if body else title])[0]
    t = embedder.embed([title])[0] if body else full
    weights = {name: float(name[1:]) for name in names if name != "full"}
    return {"full": full, **{name: normalise(w * t + (1 - w) * full) for name, w in weights.items()}}


def title_grid() -> list[Setting]:
    """Title weights and fusion around the first sweep's best (feedback off)."""
    return [Setting(q, (0.0, 0), lx, a, "max") for q, lx, a in itertools.product(
        ("full", "t0.35", "t0.5", "t0.65", "t0.8", "t1"), ("sel", "title2"), (0.7, 0.8, 0.9, 1.0))]


def grid(alphas: Sequence[float] = (0.8, 0.9, 0.95, 1.0)) -> list[Setting]:
    prfs = [(0.0, 0), (0.5, 3), (1.0, 5)]
    return [Setting(q, p, lx, a, c) for q, p, lx, a, c in itertools.product(
        ("full", "t0.5"), prfs, ("sel", "title2"), alphas, ("max", "sum"))]


def sweep_query(
    index: Index, embedder: Any, title: str, body: str, relevant: dict[str, float], settings: list[Setting],
    skip: str | None,
) -> dict[Setting, float]:
    """nDCG@10 of every setting for one query."""
    keep = np.array([index.doc_of[int(i)] != skip for i in index.ids]) if skip else None
    vecs = query_vectors(embedder, title, body, {s.qvec for s in settings})
    lex = {k: [(i, s) for i, s in lexical(index, title, body, k) if index.doc_of.get(i) != skip]
           for k in {s.lex for s in settings}}
    dense_cache: dict[tuple[str, tuple[float, int]], tuple[np.ndarray, np.ndarray]] = {}
    out: dict[Setting, float] = {}
    for s in settings:
        same = replace(s, qvec="full", lex="sel") if not body else s  # a title alone: the variants coincide
        if same in out:
            out[s] = out[same]
            continue
        key = (s.qvec, s.prf)
        if key not in dense_cache:
            dense_cache[key] = dense_scores(index, vecs[s.qvec], s.prf, keep)
        dense, order = dense_cache[key]
        out[s] = ndcg10(ranked_docs(dense, order, index, lex[s.lex], s.alpha, s.collapse, 10, skip), relevant)
    return out


def dense_scores(index: Index, vector: np.ndarray, prf: tuple[float, int], keep: np.ndarray | None,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Scores of every chunk (excluded ones at -inf) and their order, best first."""
    scores = index.matrix @ vector
    if keep is not None:
        scores = np.where(keep, scores, -np.inf)
    order = np.argsort(-scores, kind="stable")
    beta, m = prf
    if beta:
        feedback = index.matrix[order[:m]].mean(axis=0)
        scores = index.matrix @ normalise(vector + beta * feedback)
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")
    return scores, order
