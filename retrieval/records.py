"""Domain records shared by ingest and retrieval (plain dataclasses, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import TypeAdapter, ValidationError

PUBLIC: tuple[str, ...] = ()
"""Visibility of public content: no groups required."""


@dataclass(frozen=True)
class Member:
    """A community member; ``opt_out`` keeps them out of expert suggestions."""

    id: str
    name: str
    handles: dict[str, str] = field(default_factory=dict)
    opt_out: bool = False


@dataclass(frozen=True)
class Post:
    """One message of a thread; the first post of a thread is its question or opener.

    ``text`` is the whole message as shown to readers. ``unembedded`` lists ``(start, end)``
    character ranges of ``text`` that are shown but neither embedded nor searched nor quoted
    in answers (a mail's quoted reply, signature and list footer); chunk spans always index
    ``text`` itself. ``comment`` marks a remark on another post (a Stack Exchange comment),
    not an answer of its own: see :func:`post_role`.
    """

    id: str
    thread_id: str
    author: str
    created_at: datetime | None
    text: str
    reply_to: str | None = None
    accepted: bool = False
    score: int = 0
    unembedded: tuple[tuple[int, int], ...] = ()
    comment: bool = False


POST_ROLES = ("question", "answer", "accepted", "comment")
"""A post's authorship roles; a resource's authors have the role ``author``."""
ANSWER_ROLES = frozenset({"answer", "accepted", "author"})
"""Roles that count as answering (a resource's author answered the questions it covers; a
comment does not)."""


def post_role(position: int, post: Post, asker: str | None = None) -> str:
    """The one definition of a post's authorship role: the first post of a thread is its
    ``question``; later posts are ``comment`` (a remark on another post), ``accepted`` (the
    asker's chosen answer) or ``answer``, except that a later post by ``asker`` (the thread's
    first author) that is not accepted is part of their ``question`` too: a follow-up ("thanks,
    that worked", the details someone asked for), not an answer to someone else. Without
    this, a newcomer who replies in their own threads counts as a prolific answerer. An
    accepted self-answer (Stack Exchange lets the asker accept their own) stays ``accepted``.
    Expert finding weighs contributions by it."""
    if position == 0:
        return "question"
    if post.comment:
        return "comment"
    if post.accepted:
        return "accepted"
    return "question" if asker is not None and post.author == asker else "answer"


@dataclass(frozen=True)
class Thread:
    """A discussion: forum topic, chat thread, mailing-list thread or Q&A question."""

    id: str
    source: str
    channel: str
    title: str
    posts: tuple[Post, ...]
    url: str = ""
    tags: tuple[str, ...] = ()
    visibility: tuple[str, ...] = PUBLIC
    origin: str = ""  # "file:line" the record came from, for error messages

    @property
    def created_at(self) -> datetime | None:
        """When the thread was opened (its first post)."""
        return self.posts[0].created_at if self.posts else None


@dataclass(frozen=True)
class Resource:
    """A shared document: guide, note, page, slides or PDF."""

    id: str
    source: str
    title: str
    text: str
    url: str = ""
    authors: tuple[str, ...] = ()
    created_at: datetime | None = None
    tags: tuple[str, ...] = ()
    visibility: tuple[str, ...] = PUBLIC
    markup: str = "text"  # "markdown" keeps headings for section-aware chunking
    origin: str = ""


Document = Thread | Resource


@dataclass(frozen=True)
class Chunk:
    """A piece of a document as embedded.

    ``text`` is what the model saw (context header + body); ``start``/``end`` locate the
    body in the source text (the post text for threads, the resource text for resources).
    """

    id: int
    doc_id: str
    post_id: str | None
    ordinal: int
    section: str
    text: str
    body: str
    start: int
    end: int
    author: str | None
    created_at: datetime | None


def to_iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with a trailing Z (sorts lexicographically), or None."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are taken as UTC.

    Returns:
        An aware datetime in UTC; a moment beyond the years 1-9999 once moved to UTC
        (``0001-01-01T00:00:00+01:00``) is clamped to the first or last representable one.

    Raises:
        ValueError: naming the value when it is not ISO 8601.
    """
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        try:  # RFC 3339 forms Python's parser refuses (e.g. nanoseconds)
            if not _RFC3339_SHAPE.fullmatch(str(value).strip()):
                raise ValueError(value) from None
            moment = _RFC3339.validate_python(value.strip())
        except (ValidationError, ValueError) as e:
            raise ValueError(f"not an ISO 8601 date: {str(value)[:40]!r}") from e
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


_RFC3339 = TypeAdapter(datetime)
_RFC3339_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
