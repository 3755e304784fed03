"""Ranking and scoring helpers of bench/experts.py: vectorised MRR for the weight search, the
exact per-question metrics for the report, and the learned (logistic regression) ranker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.common import mrr_at, ndcg_at, precision_at
from bench.experts_data import Question, Task

Ranking = list[str]


@dataclass
class Packed:
    """One task's questions as padded arrays: features (Q, C, F), relevance (Q, C), mask."""

    features: np.ndarray
    relevance: np.ndarray
    mask: np.ndarray


def pack(questions: Sequence[Question]) -> Packed:
    """Pad the questions' candidates (sorted by member id, so a stable sort breaks ties by id)."""
    width = max((len(q.members) for q in questions), default=1) or 1
    dims = len(questions[0].vectors[0]) if questions and questions[0].vectors else 10
    features = np.zeros((len(questions), width, dims))
    relevance = np.zeros((len(questions), width))
    mask = np.zeros((len(questions), width), dtype=bool)
    for i, q in enumerate(questions):
        order = sorted(range(len(q.members)), key=lambda j: q.members[j])
        for col, j in enumerate(order):
            features[i, col] = q.vectors[j]
            relevance[i, col] = q.relevant.get(q.members[j], 0.0)
            mask[i, col] = True
    return Packed(features, relevance, mask)


def fast_mrr(packed: Packed, coefficients: np.ndarray, k: int = 10) -> float:
    """Mean MRR@k of ranking each question's candidates by ``features @ coefficients``."""
    scores = np.where(packed.mask, packed.features @ coefficients, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(packed.relevance, order, axis=1) > 0
    first = hits.argmax(axis=1)
    found = hits.any(axis=1)
    return float(np.where(found, 1.0 / (first + 1), 0.0).mean()) if len(found) else 0.0


def grid_mrr(packed: Packed, coefficients: np.ndarray, k: int = 10, block: int = 128) -> np.ndarray:
    """:func:`fast_mrr` for many coefficient vectors at once (``coefficients`` shape (G, F);
    returns shape (G,)), without sorting: in the stable descending order the first relevant
    candidate is the leftmost relevant one with the highest relevant score, and its position
    is (candidates scoring above it) + (candidates left of it scoring the same)."""
    q_n, width = packed.mask.shape
    if q_n == 0:
        return np.zeros(len(coefficients))
    relevant = ((packed.relevance > 0) & packed.mask)[:, :, None]
    any_relevant = relevant.any(axis=1)  # (Q, 1)
    left = np.arange(width)[None, :, None]
    out = []
    for start in range(0, len(coefficients), block):
        w = np.asarray(coefficients[start:start + block], dtype=float).T  # (F, g)
        scores = np.where(packed.mask[:, :, None], packed.features @ w, -np.inf)  # (Q, C, g)
        top = np.where(relevant, scores, -np.inf).max(axis=1, keepdims=True)  # (Q, 1, g)
        equal = scores == top
        first = np.argmax(equal & relevant, axis=1)[:, None, :]  # leftmost relevant at the top score
        position = (scores > top).sum(axis=1) + (equal & (left < first)).sum(axis=1)
        found = any_relevant & (position < k)
        out.append(np.where(found, 1.0 / (position + 1.0), 0.0).mean(axis=0))
    return np.concatenate(out)


def rank_by(question: Question, scores: Sequence[float], k: int = 10) -> Ranking:
    """Candidates with a positive-evidence score, best first, ties by member id."""
    pairs = sorted(zip(question.members, scores, strict=True), key=lambda p: (-p[1], p[0]))
    return [m for m, _ in pairs][:k]


def popularity(task: Task, asker: str | None, k: int = 10) -> Ranking:
    """The baseline: the most active answerers of the indexed part (asker removed)."""
    ranked = sorted(task.answer_counts, key=lambda m: (-task.answer_counts[m], m))
    return [m for m in ranked if m != asker][:k]


def linear(coefficients: Sequence[float]) -> Callable[[Question], Ranking]:
    """A ranker scoring each candidate by its feature vector times ``coefficients``."""
    w = np.asarray(coefficients, dtype=float)
    return lambda q: rank_by(q, [float(np.dot(w, v)) for v in q.vectors])


def plain_model_2(question: Question, k: int = 10) -> Ranking:
    """Plain model 2: summed relevance of the retrieved documents contributed to (members
    without any are not ranked)."""
    return [m for m in rank_by(question, question.plain, k=len(question.members))
            if question.plain[question.members.index(m)] > 0][:k]


def metrics(rankings: Sequence[Ranking], questions: Sequence[Question]) -> dict[str, list[float]]:
    """MRR@10, P@1 and nDCG@3 per question."""
    out: dict[str, list[float]] = {"mrr": [], "p@1": [], "ndcg@3": []}
    for ranked, q in zip(rankings, questions, strict=True):
        out["mrr"].append(mrr_at(ranked, q.relevant, 10))
        out["p@1"].append(precision_at(ranked, q.relevant, 1))
        out["ndcg@3"].append(ndcg_at(ranked, q.relevant, 3))
    return out


def fit_logistic(packs: Sequence[Packed], c: float = 1.0) -> np.ndarray:
    """Coefficients of a pointwise logistic regression (scikit-learn) predicting whether a
    candidate answered, on the candidates of ``packs`` (features standardised, then mapped
    back so the coefficients apply to raw feature vectors; the intercept does not rank)."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([p.features[p.mask] for p in packs])
    y = np.concatenate([p.relevance[p.mask] > 0 for p in packs])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit((x - mean) / std, y)
    return np.asarray(model.coef_[0] / std)


def fit_pairwise(packs: Sequence[Packed], c: float = 1.0, sites: Sequence[str] | None = None) -> np.ndarray:
    """Coefficients of a pairwise (RankSVM-style) logistic regression: for every question,
    each (answerer, non-answerer) pair of candidates gives the difference of their feature
    vectors, labelled 1, and its negation, labelled 0; features standardised, coefficients
    mapped back to raw vectors. A linear ranker like the hand weights, fitted to orderings.
    With ``sites`` (one per pack), every site weighs the same in the fit however many pairs
    its candidates make (else the sites with long candidate lists decide alone)."""
    from sklearn.linear_model import LogisticRegression

    diffs, weights = [], []
    names = list(sites) if sites is not None else [str(i) for i in range(len(packs))]
    for p, site in zip(packs, names, strict=True):
        unit = []
        for q in range(len(p.features)):
            cand = p.features[q][p.mask[q]]
            rel = p.relevance[q][p.mask[q]] > 0
            if rel.any() and (~rel).any():
                unit.append((cand[rel][:, None, :] - cand[~rel][None, :, :]).reshape(-1, cand.shape[1]))
        if unit:
            x = np.concatenate(unit)
            diffs.append(x)
            share = 1.0 / (len(x) * names.count(site)) if sites is not None else 1.0
            weights.append(np.full(len(x), share))
    x, w = np.concatenate(diffs), np.concatenate(weights)
    std = x.std(axis=0) + 1e-9
    xs = np.concatenate([x / std, -x / std])
    y = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000)
    model.fit(xs, y, sample_weight=np.concatenate([w, w]) * len(w) / w.sum())
    return np.asarray(model.coef_[0] / std)


def candidate_recall(questions: Sequence[Question]) -> float:
    """Share of questions with at least one real answerer among the candidates."""
    return float(np.mean([any(m in q.relevant for m in q.members) for q in questions])) if questions else 0.0
