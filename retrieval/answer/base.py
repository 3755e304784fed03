"""What an answer is, and the Protocol every way of writing one implements.

An :class:`Answerer` turns a question and the hits the asker may see into an :class:`Answer`:
text whose sentences carry markers ``[n]``, the numbered :class:`Citation` of each marker, a
confidence in 0..1, and whether it abstained (then no citations, and ``closest`` names the
nearest documents). Answerers register by name in :data:`ANSWERERS`; the extractive one is
the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from retrieval.embedding import Embedder
from retrieval.errors import ConfigError
from retrieval.experts import Expert
from retrieval.search import Hit
from retrieval.storage import Catalog, LexicalIndex


@dataclass
class Citation:
    """One cited post (thread) or section (resource) and the exact span quoted from it.

    ``quote`` is ``source[start:end]`` where source is the post's text for a thread post and
    the document's body for a resource; ``spans`` lists each cited sentence's offsets.
    """

    n: int
    doc_id: str
    kind: str
    post_id: str | None
    title: str
    author: str | None
    author_name: str | None
    created_at: str | None
    url: str
    quote: str
    start: int
    end: int
    section: str = ""
    spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Answer:
    """A cited answer, or an abstention (``abstained``: ``text`` is the plain "not answered"
    sentence, no citations) with the closest documents; ``experts`` is set by the library.
    ``note`` says how the answer was made when that matters to the reader (e.g. a generated
    answer fell back to the extractive one)."""

    question: str
    text: str
    citations: list[Citation]
    confidence: float
    abstained: bool
    closest: list[Hit]
    experts: list[Expert] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Evidence:
    """What an answerer may use: the question, the hits (best first, already restricted to
    what ``groups`` may see), the snapshot's catalog and lexical index (for full source texts,
    thread corrections and idf), and the index's embedder. ``further`` holds the hits ranked
    after ``hits`` (same restriction, best first): an answerer may draw on them to complete
    a thread it quotes (the other replies to a question that matches the asked one)."""

    question: str
    hits: list[Hit]
    embedder: Embedder
    catalog: Catalog | None = None
    lexical: LexicalIndex | None = None
    groups: tuple[str, ...] = ()
    further: list[Hit] = field(default_factory=list)


class Answerer(Protocol):
    """Writes an answer from evidence. Contract: every citation quotes its source exactly and
    is marked in the text; nothing outside ``evidence.hits`` (and their documents as
    ``evidence.groups`` may see them) is used; an abstention has no citations."""

    def answer(self, evidence: Evidence) -> Answer:
        """The answer to ``evidence.question``."""
        ...


ANSWERERS: dict[str, Callable[..., Answerer]] = {}
"""Name -> factory taking keyword options; filled by the modules of the package."""


def get_answerer(name: str, **options: Any) -> Answerer:
    """The answerer registered as ``name``, built with ``options``; an unknown name lists the known ones."""
    try:
        factory = ANSWERERS[name]
    except KeyError:
        raise ConfigError(f"unknown answerer {name!r}; known: {', '.join(sorted(ANSWERERS))}") from None
    return factory(**options)
