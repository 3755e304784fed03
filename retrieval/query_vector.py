"""The vector a question is searched with: the embedding of the whole question, mixed with the
embedding of its title line when it has one.

Why: a forum question is a title plus a body, and the body is often chatty ("Hi all, thanks
in advance", the asker's circumstances), so one embedding of the whole text drifts from what
is asked; the title states it. Measured across five dev sets (docs/benchmarks.md, section
``quality-forum``): a title share of 0.35, with the fusion's BM25 share raised to 0.2, gains
about +0.03 nDCG@10 on forum question -> comment retrieval and leaves Stack Exchange
question -> answer, question -> question and body-less questions level. Dense
pseudo-relevance feedback was measured too and not kept (it lost on question -> question).
"""

from __future__ import annotations

import numpy as np

from retrieval.embedding import Embedder

MAX_TITLE_CHARS = 200
"""A first line longer than this is not a title but the start of the text."""


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


def with_title(
    embedder: Embedder, query: str, whole: np.ndarray, title_weight: float, head: np.ndarray | None = None,
) -> np.ndarray:
    """The query vector, shape (d,): ``whole`` (the embedding of ``query``), or, when
    ``query`` has a title line and a body and ``title_weight`` > 0,
    ``normalise(title_weight * embed(title) + (1 - title_weight) * whole)``. The title is
    embedded on its own, so a per-text query cache serves it too; ``head``: its embedding,
    when the caller already has it."""
    title, body = split_title(query)
    if title_weight <= 0 or not body:
        return whole
    if head is None:
        head = embedder.embed([title])[0]
    return normalised(title_weight * head + (1 - title_weight) * whole)
