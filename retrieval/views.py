"""Plain records crossing the storage seam (``retrieval/storage.py``): what a writer hands to
the indexes about each chunk, and what a :class:`~retrieval.storage.Catalog` returns.

No I/O here. Dates are UTC ISO 8601 strings with a trailing Z (``records.to_iso``), so they
sort lexicographically; ``None`` means undated. ``groups`` of a document is its visibility:
empty for public content, else the groups allowed to see it (see ``filters.visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass

Groups = tuple[str, ...]
"""A caller's groups (empty: anonymous, public content only)."""


@dataclass(frozen=True)
class ChunkEntry:
    """One chunk as the lexical and vector indexes receive it: its text and every field a
    search may filter on, copied from its document (so a distributed engine can filter
    inside the index without a join)."""

    id: int
    doc_id: str
    kind: str
    """``thread`` or ``resource``."""
    source: str
    channel: str
    author: str | None
    tags: tuple[str, ...]
    created_at: str | None
    groups: Groups
    """The document's visibility: empty = public."""
    text: str
    """The text as embedded (context header + body); what lexical search matches."""


@dataclass(frozen=True)
class ChunkInfo:
    """A chunk joined with its document, author and post: what a search hit shows."""

    id: int
    doc_id: str
    kind: str
    post_id: str | None
    title: str
    channel: str
    url: str
    section: str
    body: str
    """The chunk's text without its context header; ``source[start:end]``."""
    start: int
    end: int
    author: str | None
    author_name: str | None
    created_at: str | None
    tags: tuple[str, ...]
    position: int | None
    """The post's place in its thread (0 = the question); None for resource chunks."""
    accepted: bool
    post_score: int
    role: str = ""
    """The post's authorship role as stored at ingest (:func:`retrieval.records.post_role`:
    ``question``, ``answer``, ``accepted`` or ``comment``); "" for resource chunks."""


@dataclass(frozen=True)
class DocumentInfo:
    """A thread or resource without its posts."""

    id: str
    kind: str
    source: str
    channel: str
    title: str
    url: str
    tags: tuple[str, ...]
    groups: Groups
    created_at: str | None
    body: str | None
    """A resource's full text; None for threads (their text is in their posts)."""


@dataclass(frozen=True)
class PostInfo:
    """One post of a thread, with its author's display name when the member is known."""

    id: str
    doc_id: str
    position: int
    author: str
    author_name: str | None
    created_at: str | None
    text: str
    reply_to: str | None
    accepted: bool
    score: int


@dataclass(frozen=True)
class ContributionInfo:
    """A member's part in a document: a post (thread) or an authorship (resource).

    ``role`` is ``question``, ``answer``, ``accepted``, ``comment`` (see
    :func:`retrieval.records.post_role`) or ``author``; ``created_at`` is the
    post's date, else the document's; ``score`` is the post's score (0 for resources).
    """

    doc_id: str
    member_id: str
    role: str
    post_id: str | None
    created_at: str | None
    score: int


@dataclass(frozen=True)
class ThreadStats:
    """A thread with its number of posts and the sum of their scores."""

    id: str
    title: str
    channel: str
    url: str
    created_at: str | None
    tags: tuple[str, ...]
    posts: int
    score: int
