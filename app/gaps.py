"""Knowledge gaps: recent questions the knowledge base could not answer, grouped by meaning.

A question of fewer than :data:`MIN_WORDS` content words ("help", "test") is left out: it
says too little to be a gap anyone could fill. Groups rank by how many people asked (a key
that asks the same thing five times counts once; anonymous questions cannot be told apart, so
each counts as its own asker), then by how many times.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from retrieval.activity_store import AskedQuestion
from retrieval.words import query_words

SAME_GAP = 0.6
"""Cosine similarity above which two questions count as the same gap."""
MIN_WORDS = 2
"""Content words (not stopwords, :func:`retrieval.words.query_words`) a question needs to be a gap."""


def group_questions(rows: list[AskedQuestion], threshold: float = SAME_GAP) -> list[dict[str, Any]]:
    """Greedy single-pass grouping of ``rows`` (questions of too few words left out): each
    question joins the first group whose first question is similar enough, else starts a
    group. Each group has ``label``, ``questions``, ``count`` and ``askers``; most askers first."""
    groups: list[dict[str, Any]] = []
    heads: list[np.ndarray | None] = []  # None: a question kept without a vector (answered well)
    who: list[list[str | None]] = []
    for row in rows:
        if len(query_words(row.question)) < MIN_WORDS:
            continue
        vector = np.frombuffer(row.vector, dtype=np.float32) if row.vector else None
        entry = {"question": row.question, "asked_at": row.asked_at, "confidence": row.confidence,
                 "abstained": row.abstained}
        match = None
        if vector is not None:
            match = next((i for i, head in enumerate(heads) if head is not None
                          and head.shape == vector.shape and float(head @ vector) >= threshold), None)
        if match is None:
            groups.append({"label": row.question, "questions": [entry]})
            heads.append(vector)
            who.append([row.asker])
        else:
            groups[match]["questions"].append(entry)
            who[match].append(row.asker)
    for group, askers in zip(groups, who, strict=True):
        group["count"] = len(group["questions"])
        group["askers"] = len({a for a in askers if a is not None}) + sum(a is None for a in askers)
    return sorted(groups, key=lambda g: (-g["askers"], -g["count"]))
