"""The vector a question is searched with: optionally the title line weighted against the
whole question, and optionally moved towards its nearest chunks (dense pseudo-relevance
feedback, Rocchio's rule on embeddings).

Why: a forum question is a title plus a body. The body is often chatty ("Hi all, thanks in
advance"), so one embedding of the whole text drifts from what is asked; and an answer
rarely repeats the question's words, while other answers in the same conversation share
them with each other. Both levers are measured across dev sets in docs/benchmarks.md
(section ``quality-forum``) before their defaults are set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.embedding import Embedder

MAX_TITLE_CHARS = 200
"""A first line longer than this is not a title but the start of the text."""


@dataclass(frozen=True)
class QueryShaping:
    """How the query vector is made (``app.settings.SearchOptions`` carries the values).

    ``title_weight`` in [0, 1]: share of the title line's embedding in the query vector when
    the question has a title line and a body (0: the whole text only). ``feedback`` >= 0:
    weight of the mean of the ``feedback_depth`` nearest visible chunks added to the query
    vector before the dense search (0: off).
    """

    title_weight: float = 0.0
    feedback: float = 0.0
    feedback_depth: int = 3


def split_title(query: str) -> tuple[str, str]:
    """``(title, body)``: the first line and the rest when the question has both and the
    first line is short enough to be a title; otherwise ``(query, "")``."""
    first, _, rest = query.strip().partition("\n")
    if rest.strip() and first.strip() and len(first) <= MAX_TITLE_CHARS:
        return first.strip(), rest.strip()
    return query, ""


def normalised(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to unit length (unchanged if it is all zeros), float32."""
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def with_title(embedder: Embedder, query: str, whole: np.ndarray, title_weight: float) -> np.ndarray:
    """The query vector, shape (d,): ``whole`` (the embedding of ``query``), mixed with its
    title's embedding (share ``title_weight``) when it has a title line and a body."""
    title, body = split_title(query)
    if title_weight <= 0 or not body:
        return whole
    head = embedder.embed([title])[0]
    return normalised(title_weight * head + (1 - title_weight) * whole)


Neighbours = Callable[[np.ndarray, int], np.ndarray]
"""(vector, k) -> the stored vectors of the k nearest chunks the caller may see, shape (<=k, d)."""


def with_feedback(vector: np.ndarray, neighbours: Neighbours, weight: float, depth: int) -> np.ndarray:
    """``normalise(vector + weight * mean(nearest depth chunk vectors))``; ``vector`` itself
    when ``weight`` or ``depth`` is 0 or nothing is near."""
    if weight <= 0 or depth <= 0:
        return vector
    near = neighbours(vector, depth)
    if not len(near):
        return vector
    return normalised(vector + weight * near.mean(axis=0))
