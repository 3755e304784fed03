"""Checks across files: duplicate ids, posts by members nobody listed."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.sources.base import Record, Report
from retrieval.records import Member, Resource, Thread


@dataclass
class Loaded:
    """The records of one ingest run, after cross-file checks."""

    threads: list[Thread] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)

    @property
    def documents(self) -> list[Thread | Resource]:
        """Threads and resources together."""
        return [*self.threads, *self.resources]


def collect(records: list[tuple[str, Record]], report: Report, indexed_members: set[str]) -> Loaded:
    """Sort records by kind, dropping duplicates (each reported with both places) and
    creating a member for every post author nobody listed."""
    loaded = Loaded()
    doc_seen: dict[str, str] = {}
    post_seen: dict[str, str] = {}
    member_seen: dict[str, str] = {}
    for where, record in records:
        where = getattr(record, "origin", "") or where
        if isinstance(record, Member):
            if _is_duplicate("member", record.id, where, member_seen, report):
                continue
            loaded.members.append(record)
        elif _is_duplicate("document", record.id, where, doc_seen, report):
            continue
        elif isinstance(record, Thread):
            clash = next((p.id for p in record.posts if p.id in post_seen), None)
            if clash is not None:
                report.error(where, f"duplicate post id {clash!r} (first seen at {post_seen[clash]}); thread skipped")
                continue
            post_seen.update({p.id: where for p in record.posts})
            loaded.threads.append(record)
        else:
            loaded.resources.append(record)
    _add_unknown_authors(loaded, report, indexed_members)
    return loaded


def _is_duplicate(kind: str, record_id: str, where: str, seen: dict[str, str], report: Report) -> bool:
    if record_id in seen:
        report.error(where, f"duplicate {kind} id {record_id!r} (first seen at {seen[record_id]}); skipped")
        return True
    seen[record_id] = where
    return False


def _add_unknown_authors(loaded: Loaded, report: Report, indexed_members: set[str]) -> None:
    known = {m.id for m in loaded.members} | indexed_members
    for thread in loaded.threads:
        for post in thread.posts:
            if post.author not in known:
                known.add(post.author)
                loaded.members.append(Member(id=post.author, name=post.author))
                report.warning(thread.origin, f"author {post.author!r} is not in members.jsonl; added as a member")
