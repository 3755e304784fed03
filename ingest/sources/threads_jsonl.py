"""Native threads JSONL: one thread per line (see docs/formats.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ingest.sources.base import Record, Report, SourceFile
from ingest.sources.jsonl import read_jsonl
from retrieval.records import PUBLIC, Post, Thread


class PostIn(BaseModel):
    """A post as written in the native format."""

    id: str = Field(min_length=1)
    author: str = Field(min_length=1)
    created_at: datetime | None
    text: str | None = None
    """None or blank: a post whose text was not exported; stored for authorship, not chunked."""
    reply_to: str | None = None
    accepted: bool = False
    score: int = 0
    comment: bool = False
    """A remark on another post (a Stack Exchange comment), not an answer of its own: its author
    is credited as a commenter (role ``comment``), which expert finding weighs lightly."""

    @model_validator(mode="before")
    @classmethod
    def _date_given(cls, data: object) -> object:
        # required, null allowed: a misspelt key ("created", "date") must not make a dated post undated
        if isinstance(data, dict) and "created_at" not in data:
            raise ValueError("created_at is missing: give the post's date, or null when the archive has none")
        return data


class ThreadIn(BaseModel):
    """A thread as written in the native format."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    channel: str = ""
    url: str = ""
    tags: list[str] = Field(default_factory=list)
    visibility: Literal["public"] | list[str] = "public"
    posts: list[PostIn] = Field(min_length=1)

    @field_validator("visibility")
    @classmethod
    def _groups_named(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and (not value or not all(g.strip() for g in value)):
            raise ValueError('must be "public" or a non-empty list of group names')
        return value

    @model_validator(mode="after")
    def _post_ids_unique(self) -> ThreadIn:
        ids = [p.id for p in self.posts]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate post id in thread {self.id}")
        return self


def to_thread(raw: ThreadIn, source: str, origin: str) -> Thread:
    """Convert a validated native thread into the domain record."""
    visibility = PUBLIC if raw.visibility == "public" else tuple(sorted(set(raw.visibility)))
    posts = tuple(
        Post(
            id=p.id, thread_id=raw.id, author=p.author, created_at=p.created_at, text=p.text or "",
            reply_to=p.reply_to, accepted=p.accepted, score=p.score, comment=p.comment,
        )
        for p in raw.posts
    )
    return Thread(
        id=raw.id, source=source, channel=raw.channel, title=raw.title, posts=posts, url=raw.url,
        tags=tuple(raw.tags), visibility=visibility, origin=origin,
    )


class ThreadsLoader:
    """Loader for ``*.jsonl`` files other than ``members.jsonl``."""

    name = "threads"
    claims_trees = False
    streams = False

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        return source.path.suffix == ".jsonl" and source.path.name != "members.jsonl"

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        for number, raw in read_jsonl(source, ThreadIn, report):
            where = f"{source.rel}:{number}"
            posts = {p.id for p in raw.posts}
            for post in raw.posts:
                if post.reply_to is not None and post.reply_to not in posts:
                    report.warning(where, f"post {post.id!r} replies to {post.reply_to!r}, "
                                          "which is not a post of this thread; kept as is")
            yield to_thread(raw, "native", where)
