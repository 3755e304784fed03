"""Knowledge gaps: recent questions the knowledge base could not answer, grouped by meaning."""

from __future__ import annotations

from typing import Any

import numpy as np

from retrieval.activity_store import AskedQuestion

SAME_GAP = 0.6
"""Cosine similarity above which two questions count as the same gap."""


def group_questions(rows: list[AskedQuestion], threshold: float = SAME_GAP) -> list[dict[str, Any]]:
    """Greedy single-pass grouping: each question joins the first group whose first question
    is similar enough, else starts a group. Groups are returned largest first."""
    groups: list[dict[str, Any]] = []
    heads: list[np.ndarray | None] = []  # None: a question kept without a vector (answered well)
    for row in rows:
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
        else:
            groups[match]["questions"].append(entry)
    for group in groups:
        group["count"] = len(group["questions"])
    return sorted(groups, key=lambda g: -g["count"])
