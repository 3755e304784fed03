"""Pydantic models of the HTTP API (the edge); domain results are dataclasses elsewhere."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FiltersIn(BaseModel):
    """Metadata filters for /ask (the same as /search's query parameters)."""

    channel: str | None = None
    source: str | None = None
    author: str | None = None
    tag: str | None = None
    since: str | None = Field(None, description="ISO 8601 date or date-time")
    until: str | None = Field(None, description="ISO 8601 date or date-time")
    kind: Literal["thread", "resource"] | None = None


class HitOut(BaseModel):
    """One search hit; ``thread_id`` or ``resource_id`` is set, depending on ``kind``."""

    thread_id: str | None = None
    resource_id: str | None = None
    post_id: str | None
    chunk_id: int
    kind: str
    score: float
    similarity: float
    text: str
    title: str
    channel: str
    section: str
    author: str | None
    author_name: str | None
    created_at: str | None
    url: str
    role: str
    accepted: bool
    post_score: int
    tags: list[str]
    start: int
    end: int
    more: list[HitOut] = Field(default_factory=list, description="other matches in the same document")


class SearchOut(BaseModel):
    """Response of GET /search."""

    hits: list[HitOut]


class AskIn(BaseModel):
    """Body of POST /ask."""

    question: str = Field(min_length=1)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    k_experts: int = Field(3, ge=0, le=20)


class CitationOut(BaseModel):
    """A numbered source of an answer; ``quote`` is the exact cited text."""

    n: int
    thread_id: str | None = None
    resource_id: str | None = None
    post_id: str | None
    kind: str
    title: str
    author: str | None
    author_name: str | None
    created_at: str | None
    url: str
    quote: str
    start: int
    end: int


class EvidenceOut(BaseModel):
    """A thread or resource where an expert helped."""

    thread_id: str | None = None
    resource_id: str | None = None
    title: str
    post_id: str | None
    role: str
    created_at: str | None
    url: str


class WhyOut(BaseModel):
    """The numbers behind a suggestion, over what the caller may see, up to the index's
    latest activity: ``answered``/``accepted``/``asked`` count the threads this question
    found; the ``*_total`` fields and ``last_active`` are the member's whole record."""

    topic: str = Field(description="the tag most of the found threads share ('' when none)")
    answered: int
    accepted: int
    asked: int
    related_last: str | None = Field(description="date of their latest contribution to the found threads")
    answers_total: int
    accepted_total: int
    last_active: str | None


class ExpertOut(BaseModel):
    """A suggested member with the evidence for the suggestion."""

    member_id: str
    name: str
    score: float
    evidence: list[EvidenceOut]
    why: str = Field("", description='why in words, e.g. "Answered 14 questions about varroa, 5 accepted, '
                                     'last in March 2026; 120 answers in all, 40 accepted"')
    why_numbers: WhyOut | None = None


class AskOut(BaseModel):
    """Response of POST /ask."""

    answer_id: str
    answer: str
    citations: list[CitationOut]
    confidence: float
    abstained: bool
    experts: list[ExpertOut]
    closest: list[HitOut]


class ExpertsOut(BaseModel):
    """Response of GET /experts."""

    experts: list[ExpertOut]


class FeedbackIn(BaseModel):
    """Body of POST /feedback: on an answer (``answer_id``) or a suggested member."""

    target: Literal["answer", "expert"] = "answer"
    helpful: bool
    answer_id: str | None = None
    member_id: str | None = None
    comment: str = Field("", max_length=2000)


class FeedbackOut(BaseModel):
    """Response of POST /feedback."""

    id: int
    stored: bool = True
