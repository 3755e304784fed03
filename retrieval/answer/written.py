"""What a written (LLM) answer adds to :class:`Answer`: the report of the check, and turning
checked claims into answer text and numbered citations.

Passage numbers of the prompt are renumbered 1..m in the order the kept sentences first
cite them, so an answer's markers always match its citation list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.answer.base import Answer, Citation
from retrieval.answer.citation_check import Claim, Passage


@dataclass
class RemovedSentence:
    """A sentence of the model's reply left out of the answer, with why and its scores."""

    text: str
    reason: str
    lexical: float
    similarity: float


@dataclass
class GeneratorReport:
    """How the writer model took part. ``used``: the answer's text is the model's (checked);
    otherwise it is the extractive answer and ``note`` says why. ``invalid_citations`` are
    passage numbers the model cited that were not given; ``dropped_citations`` valid ones
    removed because that passage supports nothing in the sentence."""

    used: bool
    model: str
    removed_sentences: list[RemovedSentence] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    dropped_citations: list[int] = field(default_factory=list)
    kept_sentences: int = 0
    note: str = ""


@dataclass
class WrittenAnswer(Answer):
    """An answer from an answerer with a writer model configured (written, or the extractive
    fallback), with the report of what the check did."""

    generator: GeneratorReport = field(default_factory=lambda: GeneratorReport(False, ""))


class Numbering:
    """Prompt passage number -> number shown in the answer, assigned on first citation."""

    def __init__(self) -> None:
        self.shown: dict[int, int] = {}

    def sentence(self, claim: Claim) -> str:
        """The claim as it reads in the answer: its text, then its renumbered markers."""
        numbers = [self.shown.setdefault(n, len(self.shown) + 1) for n in claim.cited]
        return claim.text + " " + "".join(f"[{m}]" for m in numbers)


def citations(claims: list[Claim], passages: list[Passage], numbering: Numbering) -> list[Citation]:
    """One citation per passage the kept claims cite, numbered as ``numbering`` showed them;
    its quote covers the passage's sentences closest to the claims citing it."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for claim in claims:
        for n, span in claim.evidence.items():
            spans.setdefault(n, []).append(span)
    by_n = {p.n: p for p in passages}
    out = [_citation(numbering.shown[n], by_n[n], sorted(set(found))) for n, found in spans.items()]
    return sorted(out, key=lambda c: c.n)


def _citation(shown: int, passage: Passage, spans: list[tuple[int, int]]) -> Citation:
    hit, base = passage.hit, passage.hit.start
    start, end = spans[0][0], max(b for _, b in spans)
    return Citation(
        n=shown, doc_id=hit.doc_id, kind=hit.kind, post_id=hit.post_id, title=hit.title, author=hit.author,
        author_name=hit.author_name, created_at=hit.created_at, url=hit.url, quote=hit.text[start:end],
        start=base + start, end=base + end, section=hit.section, spans=[(base + a, base + b) for a, b in spans],
    )


def removed(claims: list[Claim]) -> list[RemovedSentence]:
    """The unsupported claims as report entries."""
    return [RemovedSentence(c.text, c.reason, round(c.lexical, 3), round(c.similarity, 3))
            for c in claims if not c.supported]


def with_report(answer: Answer, report: GeneratorReport, note: str | None = None) -> WrittenAnswer:
    """``answer`` (e.g. the extractive fallback) as a :class:`WrittenAnswer` carrying ``report``."""
    fields = {k: v for k, v in vars(answer).items() if k != "generator"}
    fields["note"] = answer.note if note is None else note
    return WrittenAnswer(**fields, generator=report)
