"""How far the evidence supports an answer, in 0..1; below the answerer's threshold it abstains.

Calibrated on real labelled data (docs/benchmarks.md, SemEval-2015): the figure should rise
with the share of cited sentences that really answer the question.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.search import Hit
from retrieval.sentences import Sentence, content_words, stem


@dataclass(frozen=True)
class ConfidenceTuning:
    """Weights and ramps of :func:`confidence_of` (ramps are (low, high) in cosine units)."""

    similarity: float = 0.45
    relevance: float = 0.25
    agreement: float = 0.1
    coverage: float = 0.2
    similarity_ramp: tuple[float, float] = (0.25, 0.65)
    relevance_ramp: tuple[float, float] = (0.25, 0.6)
    agreement_margin: float = 0.1
    agreement_floor: float = 0.5
    support_floor: float = 0.4
    """The evidence blend is scaled by ``support_floor + (1 - support_floor) * ramp(best
    chosen sentence's score, *support_ramp)``: an answer whose best sentence scores low (an
    aside, a reply by the asker, a thread that is not about the question) is trusted less."""
    support_ramp: tuple[float, float] = (0.2, 1.5)


def ramp(value: float, low: float, high: float) -> float:
    """0 below ``low``, 1 above ``high``, linear between."""
    return min(max((value - low) / (high - low), 0.0), 1.0)


def coverage(weights: dict[str, float], hits: list[Hit]) -> float:
    """Share of the question's idf mass whose terms occur anywhere in the hits (titles included)."""
    present: set[str] = set()
    for hit in hits:
        present.update(stem(w) for w in content_words(f"{hit.title} {hit.text}"))
    total = sum(weights.values())
    return sum(w for term, w in weights.items() if term in present) / total if total else 0.0


def confidence_of(
    hits: list[Hit], pool: list[Sentence], weights: dict[str, float], t: ConfidenceTuning = ConfidenceTuning(),
    best_score: float | None = None,
) -> float:
    """Combines the best dense similarity of any hit, the best sentence relevance, how many
    documents agree (score close to the best and well above chance) and how much of the
    question's vocabulary the hits contain at all (off-topic questions bring words the
    community never used); scaled by the support of ``best_score`` (the score of the best
    sentence the answer quotes, see :class:`ConfidenceTuning`; None: not scaled). 0 without
    hits or candidate sentences."""
    if not hits or not pool:
        return 0.0
    top = max(h.similarity for h in hits)
    agreeing = {h.doc_id for h in hits if h.similarity >= max(top - t.agreement_margin, t.agreement_floor)}
    best = max(s.relevance for s in pool)
    value = (
        t.similarity * ramp(top, *t.similarity_ramp)
        + t.relevance * ramp(best, *t.relevance_ramp)
        + t.agreement * min(len(agreeing), 3) / 3
        + t.coverage * coverage(weights, hits)
    )
    if best_score is not None:
        value *= t.support_floor + (1 - t.support_floor) * ramp(best_score, *t.support_ramp)
    return round(value, 3)
