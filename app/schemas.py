"""Pydantic models of the HTTP API (the edge); domain results are dataclasses elsewhere."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from app.schemas_written import GeneratorOut
from retrieval.filters import FILTER_NAMES, unknown_names_message

MAX_QUESTION_CHARS = 10_000
MAX_FILTER_CHARS = 200


def _valid_unicode(value: str) -> str:
    """JSON may carry lone surrogates (``"\\ud800"``) that no UTF-8 store accepts: each
    becomes U+FFFD, so the rest of the text is still used."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)


def _not_a_bool(value: object) -> object:
    """JSON ``true``/``false`` is not a number (pydantic's lax mode would take it as 1/0);
    ``10.0`` still is an integer, as JSON Schema says."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


Text = Annotated[str, AfterValidator(_valid_unicode)]
FilterText = Annotated[Text, Field(max_length=MAX_FILTER_CHARS)]
BodyFilterText = Annotated[FilterText, Field(min_length=1)]
"""A filter value in a JSON body: never empty (leave the field out for "no filter"), as in a query."""
DateText = Annotated[str, Field(min_length=1), WithJsonSchema({
    "type": "string", "minLength": 1, "maxLength": 40, "description": "ISO 8601 date or date-time",
    "anyOf": [{"format": "date"}, {"format": "date-time"}],
})]
"""A since/until value, in a query or a JSON body: never empty there, and a blank or bad one is
refused with a 422 naming it by :func:`retrieval.filters.parse_date` (through the route)."""


class FiltersIn(BaseModel):
    """Metadata filters for /ask (the same as /search's query parameters); a name that is not
    one of :data:`retrieval.filters.FILTER_NAMES` is a 422 naming it and listing the known ones."""

    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_names_only(cls, data: object) -> object:
        if isinstance(data, dict) and (message := unknown_names_message(data, FILTER_NAMES)):
            raise ValueError(message)
        return data

    channel: BodyFilterText | None = None
    source: BodyFilterText | None = None
    author: BodyFilterText | None = None
    tag: BodyFilterText | None = None
    since: DateText | None = None
    until: DateText | None = Field(None, description="a date includes its whole day")
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

    model_config = ConfigDict(strict=True, extra="forbid")

    question: Text = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    k_experts: Annotated[int, BeforeValidator(_not_a_bool)] = Field(3, ge=0, le=20, strict=False)


EXPERT_FILTER_NAMES = ("channel", "tag")
"""The filters expert suggestions take (as GET /experts's query parameters)."""


class ExpertFiltersIn(BaseModel):
    """Filters for POST /experts: ``channel`` and ``tag``; another name is a 422 naming it and
    listing these."""

    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_names_only(cls, data: object) -> object:
        if isinstance(data, dict) and (message := unknown_names_message(data, EXPERT_FILTER_NAMES)):
            raise ValueError(message)
        return data

    channel: BodyFilterText | None = None
    tag: BodyFilterText | None = None


class ExpertsIn(BaseModel):
    """Body of POST /experts: GET /experts for a whole question in any script (a URL carrying
    10,000 characters of CJK or emoji, percent-encoded, is over what HTTP servers take)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    question: Text = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: Annotated[int, BeforeValidator(_not_a_bool)] = Field(5, ge=1, le=100, strict=False,
                                                            description="number of members")
    filters: ExpertFiltersIn = Field(default_factory=ExpertFiltersIn)


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

    topic: str = Field(description="the tag most of the found threads they answered carry ('' when none)")
    topic_count: int = Field(0, description="how many of those threads carry the topic tag")
    answered: int
    accepted: int
    asked: int
    commented: int = Field(0, description="found threads where their only part was a comment")
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
    why: str = Field("", description='why in words, e.g. "Answered 14 related questions (9 tagged varroa), 5 accepted, '
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
    generator: GeneratorOut | None = Field(None, description="what the writer model did (only when one is configured)")


class ExpertsOut(BaseModel):
    """Response of GET /experts."""

    experts: list[ExpertOut]


class AnswerFeedbackIn(BaseModel):
    """Feedback on an answer (``answer_id`` from POST /ask)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    target: Literal["answer"] = "answer"
    helpful: bool
    answer_id: Annotated[FilterText, Field(min_length=1)]
    member_id: FilterText | None = None
    comment: Text = Field("", max_length=2000)


class ExpertFeedbackIn(BaseModel):
    """Feedback on a suggested member."""

    model_config = ConfigDict(strict=True, extra="forbid")

    target: Literal["expert"]
    helpful: bool
    member_id: Annotated[FilterText, Field(min_length=1)]
    answer_id: FilterText | None = None
    comment: Text = Field("", max_length=2000)


FeedbackIn = AnswerFeedbackIn | ExpertFeedbackIn
"""Body of POST /feedback: on an answer or on a suggested member."""


class FeedbackOut(BaseModel):
    """Response of POST /feedback."""

    id: int
    stored: bool = True
