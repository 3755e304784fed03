"""Knowledge gaps: recent questions the knowledge base could not answer, grouped by meaning,
then checked against what the facilitator viewing them may see.

A question of fewer than :data:`MIN_WORDS` content words ("help", "test") is left out: it
says too little to be a gap anyone could fill. Groups rank by how many people asked (a key
that asks the same thing five times counts once; anonymous questions cannot be told apart, so
each counts as its own asker), then by how many times.

:func:`mark_gaps` is the one place a gap is compared with the index, and it only ever looks
at what the viewing facilitator's groups may see (never the askers' groups), so the list
cannot say anything about content outside those groups:

- ``off_topic``: the nearest chunk the viewer may see is at chance-level cosine
  (:data:`OFF_TOPIC_BELOW`): the community talks about something else ("who won the 2018
  World Cup?"), as opposed to a topic it has not covered yet. Off-topic gaps rank last.
- ``private_answer``: asked again with the viewer's groups, the question is answered (not
  abstained, confidence at least :data:`WEAK_CONFIDENCE`) citing documents that some of its
  askers could not see: "answered in a private group you can see", to publish or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from retrieval.activity_store import AskedQuestion, Viewer
from retrieval.filters import visible_to
from retrieval.library import Pinned
from retrieval.words import query_words

WEAK_CONFIDENCE = 0.5
"""Answers below this confidence are weak: logged with their embedding, and listed as gaps by
default; an answer for :func:`private_answer` must reach it."""
SAME_GAP = 0.6
"""Cosine similarity above which two questions count as the same gap."""
MIN_WORDS = 2
"""Content words (not stopwords, :func:`retrieval.words.query_words`) a question needs to be a gap."""
OFF_TOPIC_BELOW = 0.27
"""A gap whose nearest visible chunk has a lower cosine is off-topic. ``bench/offtopic.py``
(docs/benchmarks.md, section offtopic): the highest cosine marking at most 2% of three
communities' in-domain unanswered questions; chosen on two and tested on the third, it marks
0-7% of in-domain questions and 41-90% of other communities'. A small community's own
questions sit nearer chance: the 7% is on the smallest index (88 StackFAQ threads)."""
PRIVATE_CHECKS = 20
"""At most this many gaps (the best ranked, not off-topic) are asked again with the viewer's
groups, each an extractive answer (~45 ms at 100k chunks, docs/benchmarks.md section
offtopic-cost); the others' ``private_answer`` is None (not checked)."""


@dataclass
class Gap:
    """Questions that mean about the same, labelled by the first (the newest)."""

    label: str
    questions: list[dict[str, Any]]
    vector: np.ndarray | None
    """The label question's embedding as logged (None: logged without one)."""
    asker_rows: list[tuple[str | None, tuple[str, ...]]] = field(default_factory=list)
    """(key name or None, groups) of each question's asker."""
    top_similarity: float | None = None
    off_topic: bool = False
    private_answer: list[dict[str, Any]] | None = None

    @property
    def count(self) -> int:
        """How many times it was asked."""
        return len(self.questions)

    @property
    def askers(self) -> int:
        """Distinct askers (a key once; each anonymous question once)."""
        names = [name for name, _ in self.asker_rows]
        return len({n for n in names if n is not None}) + sum(n is None for n in names)

    def to_json(self) -> dict[str, Any]:
        """The API's view (``app.schemas_read.GapOut``)."""
        return {"label": self.label, "questions": self.questions, "count": self.count, "askers": self.askers,
                "top_similarity": self.top_similarity, "off_topic": self.off_topic,
                "private_answer": self.private_answer}


def group_questions(rows: list[AskedQuestion], threshold: float = SAME_GAP) -> list[Gap]:
    """Greedy single-pass grouping of ``rows`` (questions of too few words left out): each
    question joins the first gap whose label question is similar enough, else starts a gap.
    Most askers first, then most asked."""
    gaps: list[Gap] = []
    for row in rows:
        if len(query_words(row.question)) < MIN_WORDS:
            continue
        vector = np.frombuffer(row.vector, dtype=np.float32) if row.vector else None
        entry = {"question": row.question, "asked_at": row.asked_at, "confidence": row.confidence,
                 "abstained": row.abstained}
        match = None
        if vector is not None:
            match = next((g for g in gaps if g.vector is not None and g.vector.shape == vector.shape
                          and float(g.vector @ vector) >= threshold), None)
        if match is None:
            match = Gap(row.question, [], vector)
            gaps.append(match)
        match.questions.append(entry)
        match.asker_rows.append((row.asker, row.groups))
    return sorted(gaps, key=lambda g: (-g.askers, -g.count))


def mark_gaps(gaps: list[Gap], library: Pinned, viewer: Viewer, check_private: bool = True) -> list[Gap]:
    """Set each gap's ``top_similarity`` and ``off_topic``, and (with ``check_private``) for
    the first :data:`PRIVATE_CHECKS` gaps that are not off-topic its ``private_answer``, all
    from what ``viewer`` may see in ``library``'s snapshot; returns ``gaps`` with the
    off-topic ones moved last (order otherwise kept)."""
    searcher = library.searcher()
    # the logged embeddings (free); a model change of the same dimension is not detected
    vectors = [g.vector if g.vector is not None and g.vector.shape == (library.embedder.dimension,)
               else searcher.question_vector(g.label) for g in gaps]
    nearest = searcher.nearest(np.stack(vectors), viewer) if vectors else np.zeros(0)
    for gap, cosine in zip(gaps, nearest, strict=True):
        gap.top_similarity = round(float(cosine), 4)
        gap.off_topic = gap.top_similarity < OFF_TOPIC_BELOW
    for gap in [g for g in gaps if not g.off_topic][:PRIVATE_CHECKS if check_private else 0]:
        gap.private_answer = private_answer(gap, library, viewer)
    return sorted(gaps, key=lambda g: g.off_topic)


def private_answer(gap: Gap, library: Pinned, viewer: Viewer) -> list[dict[str, Any]]:
    """The documents (id, kind, title, url, and those of their groups ``viewer`` is in) cited
    by the extractive answer to ``gap.label`` from what ``viewer`` may see (a configured writer
    model is not called) that some asker of the gap could not see. Empty when that answer
    abstains or is weak (below :data:`WEAK_CONFIDENCE`), or when ``viewer``'s groups are among
    every asker's (it sees nothing they did not; then nothing is asked)."""
    if all(set(viewer) <= set(groups) for _, groups in gap.asker_rows):
        return []
    answer = library.ask_draft(gap.label, groups=viewer, k_experts=0).fallback  # never calls a writer model
    if answer.abstained or answer.confidence < WEAK_CONFIDENCE:
        return []
    cited = library.snapshot().catalog.documents({c.doc_id for c in answer.citations}, viewer)
    hidden = [d for d in cited.values() if any(not visible_to(d.groups, groups) for _, groups in gap.asker_rows)]
    return [{"doc_id": d.id, "kind": d.kind, "title": d.title, "url": d.url,
             "groups": sorted(set(d.groups) & set(viewer))} for d in sorted(hidden, key=lambda d: d.id)]
