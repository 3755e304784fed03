"""The optional writer: a language model writes the answer from the top passages, and every
sentence is checked against the passages it cites before anyone sees it.

:class:`LLMAnswerer` first asks its fallback (the extractive answerer): when that abstains the
evidence is too weak and no model is called. Otherwise the model gets the caller's visible
passages numbered [1]..[n] (:mod:`retrieval.answer.prompt`); each sentence of its reply goes
through :class:`~retrieval.answer.citation_check.SupportChecker`; unsupported sentences and
citations of passages that were not given are removed and the note says so. When the model
fails (timeout, unreachable, an error status, malformed JSON), declines, or no sentence
survives, the extractive answer is returned with a note. A :class:`Draft` does the same
piece by piece for streaming: checked sentences as they complete, then the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from retrieval.answer.base import ANSWERERS, Answer, Answerer, Evidence
from retrieval.answer.chat import Generator, GeneratorError, get_generator
from retrieval.answer.citation_check import Claim, Passage, SupportChecker, Thresholds, complete_sentences, split_reply
from retrieval.answer.extractive import ExtractiveAnswerer
from retrieval.answer.prompt import MAX_PASSAGES, declined, messages, passages_of
from retrieval.answer.written import GeneratorReport, Numbering, WrittenAnswer, citations, removed, with_report

log = logging.getLogger(__name__)

FELL_BACK = "The writer model {why}; this is the extractive answer."
WHY = {
    "timeout": "did not answer in time", "unreachable": "could not be reached",
    "status": "answered with an error", "malformed": "answered with something that is not a chat reply",
    "declined": "found no answer in the passages", "unsupported": "wrote nothing its cited passages support",
}


class LLMAnswerer:
    """Writes answers with ``generator``, checked with ``thresholds``; ``fallback`` (default
    extractive) decides abstention and answers whenever the written answer cannot be used."""

    def __init__(self, generator: Generator, fallback: Answerer | None = None, thresholds: Thresholds | None = None,
                 max_passages: int = MAX_PASSAGES) -> None:
        self.generator = generator
        self.fallback: Answerer = fallback or ExtractiveAnswerer()
        self.thresholds = thresholds or Thresholds()
        self.max_passages = max_passages

    def answer(self, evidence: Evidence) -> Answer:
        """See :class:`retrieval.answer.base.Answerer`."""
        return self.draft(evidence).answer()

    def draft(self, evidence: Evidence) -> Draft:
        """Everything that reads the snapshot done now (the fallback answer, the passages);
        the model is called when the draft is read."""
        fallback = self.fallback.answer(evidence)
        if fallback.abstained:
            report = GeneratorReport(False, self.generator.model, note="not written: the evidence is too weak")
            return Draft(with_report(fallback, report))
        passages = passages_of(evidence.hits, self.max_passages)
        checker = SupportChecker(passages, evidence.embedder, self.thresholds)
        return Draft(fallback, Writing(self.generator, evidence.question, passages, checker))


class Writing:
    """One call of the model for one question, and the claims checked so far."""

    def __init__(self, generator: Generator, question: str, passages: list[Passage], checker: SupportChecker) -> None:
        self.generator, self.question, self.passages, self.checker = generator, question, passages, checker
        self.claims: list[Claim] = []
        self.numbering = Numbering()
        self.failure = ""

    def streamed(self) -> Iterator[str]:
        """Kept sentences, renumbered, as the streamed reply completes them."""
        buffer, reply = "", ""
        for piece in self.generator.stream(messages(self.question, self.passages)):
            buffer, reply = buffer + piece, reply + piece
            done, buffer = complete_sentences(buffer)
            yield from self._checked(done, reply)
        yield from self._checked(split_reply(buffer), reply)

    def whole(self) -> None:
        """Check the whole reply of one non-streamed call."""
        reply = self.generator.complete(messages(self.question, self.passages))
        for _ in self._checked(split_reply(reply), reply):
            pass

    def _checked(self, sentences: list[str], reply: str) -> Iterator[str]:
        if declined(reply):
            self.failure = "declined"
            return
        for sentence in sentences:
            claim = self.checker.check(sentence)
            self.claims.append(claim)
            if claim.supported:
                yield self.numbering.sentence(claim)


class Draft:
    """An answer being written: :meth:`sentences` streams the checked sentences (none for a
    finished draft), :meth:`answer` gives the final answer (calling the model if the
    sentences were not read). ``experts`` are put on the final answer."""

    def __init__(self, fallback: Answer, writing: Writing | None = None) -> None:
        self.fallback, self.writing = fallback, writing
        self.experts: list[Any] = []
        self._started = False

    @property
    def confidence(self) -> float:
        """The evidence's confidence (the fallback's): a written answer does not change it."""
        return self.fallback.confidence

    def sentences(self) -> Iterator[str]:
        """Each kept sentence (markers renumbered as in the final answer) once it is complete."""
        if self.writing is None or self._started:
            return
        self._started = True
        try:
            yield from self.writing.streamed()
        except GeneratorError as e:
            _failed(self.writing, e)

    def answer(self) -> Answer:
        """The written answer, or the fallback with a note saying why."""
        if self.writing is not None and not self._started:
            self._started = True
            try:
                self.writing.whole()
            except GeneratorError as e:
                _failed(self.writing, e)
        final = self.fallback if self.writing is None else self._final(self.writing)
        final.experts = self.experts
        return final

    def _final(self, writing: Writing) -> WrittenAnswer:
        kept = [c for c in writing.claims if c.supported]
        report = GeneratorReport(
            used=False, model=writing.generator.model, removed_sentences=removed(writing.claims),
            invalid_citations=sorted({n for c in writing.claims for n in c.invalid}),
            dropped_citations=sorted({n for c in writing.claims for n in c.uncited}), kept_sentences=len(kept),
        )
        failure = writing.failure or ("" if kept else "unsupported")
        if failure:
            report.note = FELL_BACK.format(why=WHY.get(failure, "failed"))
            return with_report(self.fallback, report, report.note)
        report.used = True
        report.note = _note(writing.generator.model, report)
        text = " ".join(writing.numbering.sentence(c) for c in kept)
        cited = citations(kept, writing.passages, writing.numbering)
        answer = Answer(self.fallback.question, text, cited, self.fallback.confidence, False, self.fallback.closest)
        return with_report(answer, report, report.note)


def _failed(writing: Writing, error: GeneratorError) -> None:
    log.warning("writer model failed (%s): %s", error.reason, error)
    writing.failure = error.reason


def _note(model: str, report: GeneratorReport) -> str:
    """What the reader is told about a written answer."""
    parts = [f"Written by {model} from the cited passages; each sentence was checked against its sources"]
    if report.removed_sentences:
        count = len(report.removed_sentences)
        parts.append(f"{count} unsupported sentence{'s' if count > 1 else ''} removed")
    if report.invalid_citations:
        listed = ", ".join(f"[{n}]" for n in report.invalid_citations)
        parts.append(f"citations of passages that were not given removed ({listed})")
    return "; ".join(parts) + "."


def draft_of(answerer: Answerer, evidence: Evidence) -> Draft:
    """A :class:`Draft` from any answerer: streamed when it can write, else already finished."""
    if isinstance(answerer, LLMAnswerer):
        return answerer.draft(evidence)
    return Draft(answerer.answer(evidence))


def _from_options(url: str, model: str, api_key: str | None = None, timeout: float = 20.0, api: str = "openai",
                  thresholds: Thresholds | None = None, max_passages: int = MAX_PASSAGES) -> LLMAnswerer:
    generator = get_generator(api, url=url, model=model, api_key=api_key, timeout=timeout)
    return LLMAnswerer(generator, thresholds=thresholds, max_passages=max_passages)


ANSWERERS["llm"] = _from_options
