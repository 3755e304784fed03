"""Fusing the dense and lexical candidate lists into one ranking.

Both fusers take each list as (chunk id, score) pairs, best first, and return chunk id ->
fused score. ``convex`` is the default: on StackFAQ it is the only fusion measured that does
not lose to dense retrieval alone (docs/benchmarks.md), because it keeps the size of score
gaps that rank-based fusion throws away.
"""

from __future__ import annotations

from collections.abc import Callable

Scored = list[tuple[int, float]]


def rrf(dense: Scored, lexical: Scored, *, rrf_k: int = 60, dense_weight: float = 1.0,
        lexical_weight: float = 1.0, **unused: float) -> dict[int, float]:
    """Weighted reciprocal-rank fusion: ``sum(weight / (rrf_k + rank))`` over the lists."""
    fused: dict[int, float] = {}
    for ranked, weight in ((dense, dense_weight), (lexical, lexical_weight)):
        for rank, (chunk_id, _) in enumerate(ranked, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return fused


def minmax(scored: Scored) -> dict[int, float]:
    """Scores rescaled to 0..1 within the list (all 1.0 when they are equal)."""
    if not scored:
        return {}
    values = [s for _, s in scored]
    low, span = min(values), max(values) - min(values)
    return {i: (s - low) / span if span > 0 else 1.0 for i, s in scored}


def convex(dense: Scored, lexical: Scored, *, alpha: float = 0.9, **unused: float) -> dict[int, float]:
    """``alpha * dense + (1 - alpha) * lexical`` on per-query min-max normalised scores; a
    chunk missing from a list gets that list's minimum (0)."""
    d, x = minmax(dense), minmax(lexical)
    return {i: alpha * d.get(i, 0.0) + (1 - alpha) * x.get(i, 0.0) for i in d.keys() | x.keys()}


FUSERS: dict[str, Callable[..., dict[int, float]]] = {"convex": convex, "rrf": rrf}


def get_fuser(name: str) -> Callable[..., dict[int, float]]:
    """The fuser registered as ``name``; an unknown name lists the known ones."""
    try:
        return FUSERS[name]
    except KeyError:
        raise ValueError(f"unknown fusion {name!r}; known: {', '.join(FUSERS)}") from None
