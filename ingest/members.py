"""Resolving platform accounts to members, so one person's posts on Slack, Discourse and a
mailing list add up to one member.

A member in members.jsonl (or already in the index) claims accounts through ``handles``:
``{"slack": "U024BE7LH", "discourse": "ines_a", "mail": "ines@example.org"}``. Handles are
compared case-insensitively (mail addresses and forum usernames are case-insensitive on the
platforms; Slack and Discord ids are unique whatever the case). An account nobody claims becomes
a member of its own, named as the platform shows it, with the id ``source:handle``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ingest.sources.base import Account
from retrieval.records import Member, Thread

HandleKey = tuple[str, str]


def handle_key(source: str, handle: str) -> HandleKey:
    """The comparison key of a handle on a source."""
    return source.casefold(), handle.strip().casefold()


class MemberResolver:
    """Maps accounts to member ids through the handles that known members declare."""

    def __init__(self, declared: Iterable[Member]) -> None:
        self._owner: dict[HandleKey, str] = {}
        for member in declared:
            for source, handle in member.handles.items():
                self._owner.setdefault(handle_key(source, str(handle)), member.id)

    def owner(self, account: Account) -> str | None:
        """The id of the declared member who claims ``account``, or None."""
        for handle in account.handles:
            found = self._owner.get(handle_key(account.source, handle))
            if found is not None:
                return found
        return None

    def resolve(self, accounts: Iterable[Account]) -> tuple[dict[str, str], list[Member]]:
        """For the given accounts: a map from provisional author id to member id (for claimed
        accounts), and the new members to create for unclaimed ones (one per account id; the
        first non-empty display name wins)."""
        renamed: dict[str, str] = {}
        created: dict[str, Member] = {}
        for account in accounts:
            owner = self.owner(account)
            if owner is not None:
                renamed[account.member_id] = owner
            elif account.member_id not in created or created[account.member_id].name == account.member_id:
                name = account.name.strip() or account.member_id
                created[account.member_id] = Member(
                    id=account.member_id, name=name, handles={account.source: account.handles[0]}
                )
        return renamed, list(created.values())


def rename_authors(thread: Thread, renamed: dict[str, str]) -> Thread:
    """``thread`` with every post author in ``renamed`` replaced by its member id."""
    if not any(p.author in renamed for p in thread.posts):
        return thread
    posts = tuple(replace(p, author=renamed.get(p.author, p.author)) for p in thread.posts)
    return replace(thread, posts=posts)
