"""Response models of the read endpoints: health, stats, whole documents, members, the
overview and the admin views. Field names follow what :mod:`retrieval` returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    """Response of GET /health."""

    status: str
    snapshot: str


class ModelInfo(BaseModel):
    """The embedding model that built the index."""

    name: str
    id: str
    dimension: int


class StatsOut(BaseModel):
    """Response of GET /stats."""

    counts: dict[str, int]
    model: ModelInfo
    vector_index: str
    backend: str = Field(description="storage backend the index was built with (`townsquare migrate` moves it)")
    snapshot: str
    created_at: str
    size_bytes: int | None = Field(
        None, description="index size on disk; only for a facilitator whose groups see every document")
    last_ingest: dict[str, Any] = Field(
        default_factory=dict, description="`finished_at` for everyone; the whole report (files, counts, problems) "
        "only for a facilitator whose groups see every document")


class PostOut(BaseModel):
    """One post of a thread."""

    id: str
    author: str
    author_name: str | None
    created_at: str | None
    text: str
    reply_to: str | None
    accepted: bool
    score: int


class DocumentFields(BaseModel):
    """What threads and resources share; ``visibility`` is "public" or the groups allowed."""

    id: str
    title: str
    channel: str
    url: str
    source: str
    tags: list[str]
    created_at: str | None
    visibility: str | list[str]


class ThreadOut(DocumentFields):
    """Response of GET /threads/{id}."""

    posts: list[PostOut]


class ResourceOut(DocumentFields):
    """Response of GET /resources/{id}."""

    authors: list[str]
    text: str | None


class MemberOut(BaseModel):
    """A member's profile, counted over what the caller may see."""

    id: str
    name: str
    handles: dict[str, str]
    opt_out: bool
    questions: int
    answers: int
    accepted_answers: int
    resources: int
    top_channels: list[str]
    top_tags: list[str]


class MembersOut(BaseModel):
    """Response of GET /members."""

    members: list[MemberOut]


class ThreadSummaryOut(BaseModel):
    """A thread as listed on the overview."""

    id: str
    title: str
    channel: str
    url: str
    created_at: str | None
    tags: list[str]
    posts: int
    score: int
    answered_by: str | None = None
    answer_score: int = 0


class TopicPersonOut(BaseModel):
    """A member who answered much in a topic."""

    member_id: str
    name: str
    answers: float


class TopicOut(BaseModel):
    """A cluster of similar threads."""

    label: str
    tags: list[str]
    thread_count: int
    post_count: int
    threads: list[ThreadSummaryOut]
    people: list[TopicPersonOut]


class ResourceSummaryOut(BaseModel):
    """A shared resource as listed on the overview."""

    id: str
    title: str
    url: str
    tags: list[str]
    created_at: str | None
    authors: str


class FacetOut(BaseModel):
    """A channel or tag with the number of documents using it."""

    value: str
    count: int


class OverviewOut(BaseModel):
    """Response of GET /overview."""

    snapshot: str
    topics: list[TopicOut]
    best_threads: list[ThreadSummaryOut]
    resources: list[ResourceSummaryOut]
    facets: dict[str, list[FacetOut]]


class FeedbackItemOut(BaseModel):
    """One stored piece of feedback."""

    created_at: str
    target: str
    helpful: bool
    comment: str
    member_id: str | None
    question: str | None


class FeedbackSummaryOut(BaseModel):
    """Response of GET /admin/feedback."""

    counts: dict[str, int]
    latest: list[FeedbackItemOut]


class GapQuestionOut(BaseModel):
    """A weakly answered question."""

    question: str
    asked_at: str
    confidence: float
    abstained: bool


class PrivateAnswerOut(BaseModel):
    """A document, private to groups of the viewing facilitator, that answers a gap."""

    doc_id: str
    kind: str
    title: str
    url: str
    groups: list[str]
    """Its groups that the viewing facilitator is in (never the others)."""


class GapOut(BaseModel):
    """Questions that mean about the same, labelled by the first."""

    label: str
    count: int
    askers: int
    """Distinct askers (a key counts once; each anonymous question counts as one)."""
    questions: list[GapQuestionOut]
    top_similarity: float | None = None
    """Cosine between the label question and the nearest chunk your key may see (None: not measured)."""
    off_topic: bool = False
    """The nearest chunk your key may see is at chance level: the community talks about something else."""
    private_answer: list[PrivateAnswerOut] | None = None
    """Answered for your key from these documents, which some of its askers could not see
    ("answered in a private group you can see"); [] none; None not checked (see app/gaps.py)."""


class GapsOut(BaseModel):
    """Response of GET /admin/gaps."""

    gaps: list[GapOut]
