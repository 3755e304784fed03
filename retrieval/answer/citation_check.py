"""Checking a written reply against the passages it cites.

A reply is split into sentences, each keeping the markers ``[n]`` (or ``[n, m]``) that follow
it. A marker naming a passage that was not given is invalid and dropped. A sentence is
*supported* when, against the passages it validly cites, both

- its lexical support (the share of its stemmed content words found in those passages) is at
  least ``Thresholds.lexical``, and
- its similarity (the best cosine between its embedding and those of the passages' sentences
  and whole texts, with the product's embedder) is at least ``Thresholds.similarity``.

A sentence citing nothing valid is unsupported. Of a supported sentence's citations, those
whose passage alone reaches neither threshold are dropped too (it cites them for nothing).
The defaults and how they were measured: docs/writer.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from retrieval.embedding import Embedder
from retrieval.search import Hit
from retrieval.sentences import content_words, split_sentences, stem

MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
LEADING_MARKERS = re.compile(r"^(?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\]\s*)+")
END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9\[])|\n+")
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
PASSAGE_CHARS = 1500
"""A passage longer than this is cut (for the prompt and the check alike)."""


@dataclass(frozen=True)
class Thresholds:
    """Minimum lexical support (share of content words, 0..1) and embedding similarity
    (cosine, -1..1) for a sentence to count as supported by the passages it cites."""

    lexical: float = 0.6
    similarity: float = 0.5


@dataclass(frozen=True)
class Passage:
    """Passage ``n`` (1-based, as numbered in the prompt): a hit the caller may see."""

    n: int
    hit: Hit

    @property
    def text(self) -> str:
        """The passage's text as given to the model: the hit's body, at most :data:`PASSAGE_CHARS`."""
        return self.hit.text[:PASSAGE_CHARS]


@dataclass
class Claim:
    """One sentence of a reply after checking. ``text`` has no markers; ``cited`` are the
    valid passage numbers it keeps, ``invalid`` those naming no given passage, ``uncited``
    valid ones dropped for supporting nothing; ``evidence`` maps each kept passage number
    to the span (offsets in the passage text) of its sentence closest to the claim."""

    text: str
    cited: list[int]
    invalid: list[int] = field(default_factory=list)
    uncited: list[int] = field(default_factory=list)
    lexical: float = 0.0
    similarity: float = 0.0
    supported: bool = False
    evidence: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """Why an unsupported claim was removed, in words ("" when supported)."""
        if self.supported:
            return ""
        if not self.cited:
            return "cites a passage that was not given" if self.invalid else "cites no passage"
        return "not supported by the passages it cites"


def split_reply(text: str) -> list[str]:
    """Sentences of a reply, each with the markers that follow it (also when the model puts
    them after the full stop: ``Do this. [1] Then that [2].``)."""
    out: list[str] = []
    for piece in (p.strip() for p in END.split(text)):
        lead = LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] += " " + lead.group().strip()
            piece = piece[lead.end():].strip()
        if piece:
            out.append(piece)
    return out


def complete_sentences(buffer: str) -> tuple[list[str], str]:
    """While a reply streams in: the sentences of ``buffer`` that are surely complete (a
    following sentence has begun, with a letter outside its markers), and the rest."""
    pieces = split_reply(buffer)
    if len(pieces) < 2 or not LETTER.search(LEADING_MARKERS.sub("", pieces[-1])):
        return [], buffer
    tail = pieces[-1]
    return pieces[:-1], buffer[buffer.rindex(tail):]


def parse_markers(sentence: str, given: int) -> tuple[str, list[int], list[int]]:
    """``(text without markers, valid passage numbers, invalid ones)`` for ``given`` passages."""
    numbers = [int(n) for group in MARKER.findall(sentence) for n in group.split(",")]
    text = " ".join(MARKER.sub("", sentence).split())
    valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= given))
    invalid = list(dict.fromkeys(n for n in numbers if not 1 <= n <= given))
    return text, valid, invalid


def stems(text: str) -> set[str]:
    """Stemmed content words of ``text``."""
    return {stem(w) for w in content_words(text)}


class SupportChecker:
    """Checks claims against one answer's passages; each passage's sentences are embedded
    once (on first use) with ``embedder``."""

    def __init__(self, passages: list[Passage], embedder: Embedder, thresholds: Thresholds | None = None) -> None:
        self.passages = {p.n: p for p in passages}
        self.embedder = embedder
        self.thresholds = thresholds or Thresholds()
        self._stems = {p.n: stems(p.text) for p in passages}
        self._units: dict[int, tuple[list[tuple[int, int]], np.ndarray]] = {}

    def check(self, sentence: str) -> Claim:
        """The checked claim of one reply sentence (markers included)."""
        text, valid, invalid = parse_markers(sentence, len(self.passages))
        claim = Claim(text, valid, invalid)
        words = stems(text)
        if not valid or not words:
            claim.cited, claim.uncited = [], valid
            return claim
        vector = self.embedder.embed([text])[0]
        per = {n: (len(words & self._stems[n]) / len(words), *self._closest(n, vector)) for n in valid}
        claim.lexical = len(words & set().union(*(self._stems[n] for n in valid))) / len(words)
        claim.similarity = max(cosine for _, cosine, _ in per.values())
        limits = self.thresholds
        claim.supported = claim.lexical >= limits.lexical and claim.similarity >= limits.similarity
        if claim.supported:
            claim.cited = [n for n in valid if per[n][0] >= limits.lexical or per[n][1] >= limits.similarity]
            claim.uncited = [n for n in valid if n not in claim.cited]
            claim.evidence = {n: per[n][2] for n in claim.cited}
        return claim

    def _closest(self, n: int, vector: np.ndarray) -> tuple[float, tuple[int, int]]:
        """Best cosine of ``vector`` to passage ``n`` (its sentences or whole text), and the
        span of its closest sentence."""
        spans, vectors = self._embedded(n)
        cosines = vectors @ vector
        best = int(np.argmax(cosines[1:])) + 1 if len(spans) > 1 else 0
        return float(cosines.max()), spans[best]

    def _embedded(self, n: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        if n not in self._units:
            text = self.passages[n].text
            spans = [(0, len(text)), *split_sentences(text)]
            self._units[n] = spans, self.embedder.embed([text[a:b] for a, b in spans])
        return self._units[n]


def check_all(sentences: Iterable[str], checker: SupportChecker) -> list[Claim]:
    """Every sentence checked, in order."""
    return [checker.check(s) for s in sentences]
