"""Native members JSONL (``members.jsonl``): who is who, and who opted out."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, Field

from ingest.sources.base import Record, Report, SourceFile
from ingest.sources.jsonl import read_jsonl
from retrieval.records import Member


class MemberIn(BaseModel):
    """A member as written in the native format."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    handles: dict[str, str] = Field(default_factory=dict)
    opt_out: bool = False


class MembersLoader:
    """Loader for files named ``members.jsonl``."""

    name = "members"
    claims_trees = False
    streams = False

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        return source.path.name == "members.jsonl"

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        for _, raw in read_jsonl(source, MemberIn, report):
            yield Member(id=raw.id, name=raw.name, handles=raw.handles, opt_out=raw.opt_out)
