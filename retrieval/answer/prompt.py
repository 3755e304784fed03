"""The writer model's prompt: the question and the top passages, numbered [1]..[n].

Passages come only from the hits the answerer was given, which the search already restricted
to what the caller may see: nothing else reaches the model.
"""

from __future__ import annotations

from retrieval.answer.chat import Messages
from retrieval.answer.citation_check import Passage
from retrieval.search import Hit

MAX_PASSAGES = 6
NOT_ANSWERED = "NOT ANSWERED"
"""What the model is told to reply when the passages do not answer the question."""

SYSTEM = (
    "You answer a member's question for a community of practice, using only the numbered passages "
    "that members wrote. Write two to five short, plain sentences. End every sentence with the "
    "number of the passage that states it, in square brackets, like [2]; cite only numbers of passages "
    "you were given. State only what the passages say; do not add advice of your own. If the passages "
    f"do not answer the question, reply exactly: {NOT_ANSWERED}"
)


def passages_of(hits: list[Hit], k: int = MAX_PASSAGES) -> list[Passage]:
    """The first ``k`` distinct chunks of ``hits`` (best first), numbered from 1."""
    seen: set[int] = set()
    chosen: list[Hit] = []
    for hit in hits:
        if hit.chunk_id not in seen and len(chosen) < k and hit.text.strip():
            seen.add(hit.chunk_id)
            chosen.append(hit)
    return [Passage(n, hit) for n, hit in enumerate(chosen, start=1)]


def messages(question: str, passages: list[Passage]) -> Messages:
    """The chat messages asking the model to answer ``question`` from ``passages``."""
    listed = "\n\n".join(
        f"[{p.n}] {p.hit.title}\n{' '.join(p.text.split())}" for p in passages
    )
    user = f"Passages:\n\n{listed}\n\nQuestion: {question}\n\nAnswer with citations:"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def declined(reply: str) -> bool:
    """The model said the passages do not answer the question."""
    return reply.strip().strip(".").upper().startswith(NOT_ANSWERED)
