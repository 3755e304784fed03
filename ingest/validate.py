"""Checks across files: duplicate ids, thread pages to merge, accounts to resolve to members,
posts by members nobody listed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC

from ingest.members import MemberResolver, rename_authors
from ingest.sources.base import Account, Record, Report, ThreadPage
from retrieval.records import Member, Post, Resource, Thread


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


def collect(records: list[tuple[str, Record]], report: Report, indexed_members: list[Member]) -> Loaded:
    """Sort records by kind, dropping duplicates (each reported with both places), merging
    thread pages, resolving platform accounts to members (through the handles declared in
    this run's members files or in the index), and creating a member for every post author
    nobody listed."""
    collector = _Collector(report)
    accounts: list[Account] = []
    pages: dict[str, list[tuple[str, Thread]]] = {}
    for where, record in records:
        where = getattr(record, "origin", "") or where
        if isinstance(record, Account):
            accounts.append(record)
        elif isinstance(record, ThreadPage):
            pages.setdefault(record.thread.id, []).append((where, record.thread))
        else:
            collector.add(where, record)
    for parts in pages.values():
        merged = merge_pages([thread for _, thread in parts], report)
        if merged is not None:
            collector.add(parts[0][0], merged)
    loaded = collector.loaded
    _resolve_accounts(loaded, accounts, indexed_members)
    _add_unknown_authors(loaded, report, {m.id for m in indexed_members})
    return loaded


class _Collector:
    def __init__(self, report: Report) -> None:
        self.loaded = Loaded()
        self.report = report
        self.seen: dict[str, dict[str, str]] = {"member": {}, "document": {}, "post": {}}

    def add(self, where: str, record: Record) -> None:
        if isinstance(record, Member):
            if not self._duplicate("member", record.id, where):
                self.loaded.members.append(record)
        elif isinstance(record, Thread | Resource) and not self._duplicate("document", record.id, where):
            if isinstance(record, Resource):
                self.loaded.resources.append(record)
                return
            posts = self.seen["post"]
            clash = next((p.id for p in record.posts if p.id in posts), None)
            if clash is not None:
                self.report.error(where, f"duplicate post id {clash!r} (first seen at {posts[clash]}); thread skipped")
                return
            posts.update({p.id: where for p in record.posts})
            self.loaded.threads.append(record)

    def _duplicate(self, kind: str, record_id: str, where: str) -> bool:
        seen = self.seen[kind]
        if record_id in seen:
            self.report.error(where, f"duplicate {kind} id {record_id!r} (first seen at {seen[record_id]}); skipped")
            return True
        seen[record_id] = where
        return False


def merge_pages(parts: list[Thread], report: Report) -> Thread | None:
    """One thread from its pages: posts deduplicated by id (the first copy wins) in time order
    (posts without a date keep their place after dated ones). Pages that disagree on
    visibility are an error and the thread is skipped: guessing could expose private posts."""
    first = parts[0]
    visibilities = {part.visibility for part in parts}
    if len(visibilities) > 1:
        report.error(first.origin, f"thread {first.id!r}: its pages disagree on visibility; skipped")
        return None
    posts: dict[str, Post] = {}
    for part in parts:
        for post in part.posts:
            posts.setdefault(post.id, post)
    ordered = sorted(posts.values(), key=_time_key)
    title = next((part.title for part in parts if part.title), first.title)
    tags = tuple(dict.fromkeys(tag for part in parts for tag in part.tags))
    return replace(first, title=title, tags=tags, posts=tuple(ordered))


def _time_key(post: Post) -> tuple[bool, float]:
    when = post.created_at
    if when is None:
        return True, 0.0
    return False, (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _resolve_accounts(loaded: Loaded, accounts: list[Account], indexed_members: list[Member]) -> None:
    declared = {m.id: m for m in [*indexed_members, *loaded.members]}
    renamed, created = MemberResolver(declared.values()).resolve(accounts)
    loaded.members.extend(m for m in created if m.id not in declared)
    if renamed:
        loaded.threads = [rename_authors(t, renamed) for t in loaded.threads]


def _add_unknown_authors(loaded: Loaded, report: Report, indexed_members: set[str]) -> None:
    known = {m.id for m in loaded.members} | indexed_members
    for thread in loaded.threads:
        for post in thread.posts:
            if post.author not in known:
                known.add(post.author)
                loaded.members.append(Member(id=post.author, name=post.author))
                report.warning(thread.origin, f"author {post.author!r} is not in members.jsonl; added as a member")



