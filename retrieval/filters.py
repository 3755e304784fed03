"""Search filters and the visibility rule, as plain values and pure functions.

This is the one place the visibility rule is defined: a document is visible when it is public
or when the caller belongs to one of its groups. Backends translate :class:`Filters` and the
caller's groups into their own terms (SQL, id selectors, engine expressions); :func:`admits`
is the reference those translations must agree with (the contract tests check it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from retrieval.errors import BadQueryError
from retrieval.records import parse_iso, to_iso

if TYPE_CHECKING:
    from retrieval.records import Member
    from retrieval.views import ChunkEntry

KINDS = ("thread", "resource")


@dataclass(frozen=True)
class Filters:
    """Metadata restrictions on a search; None means no restriction."""

    channel: str | None = None
    source: str | None = None
    author: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise BadQueryError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        # since after until is allowed: an empty range, so no results (not an error)

    def is_empty(self) -> bool:
        """True when nothing is restricted."""
        return all(value is None for value in vars(self).values())


FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Filters))
"""The names a caller may filter on, in :class:`Filters`' order (edges check requests against it)."""


def unknown_names_message(given: Iterable[str], known: Iterable[str], what: str = "filter") -> str | None:
    """None when every name in ``given`` is in ``known``; otherwise one line naming the unknown
    ones and listing the known ones (a misspelt ``chanel`` must not silently widen a search)."""
    allowed = list(known)
    unknown = [name for name in given if name not in allowed]
    if not unknown:
        return None
    names = ", ".join(repr(name) for name in unknown)
    plural = "s" if len(unknown) > 1 else ""
    if not allowed:
        return f"unknown {what}{plural} {names}: this takes no {what}s"
    return f"unknown {what}{plural} {names}; known: {', '.join(allowed)}"


def resolve_author(filters: Filters, members: dict[str, Member]) -> Filters:
    """``filters`` with ``author`` turned into a member id when it is not one already but names
    exactly one of ``members`` by display name or by a handle (case-insensitive, a leading ``@``
    ignored); otherwise unchanged (an unknown author then matches nothing)."""
    wanted = filters.author
    if wanted is None or wanted in members:
        return filters
    key = wanted.strip().lstrip("@").casefold()
    found = [m.id for m in members.values()
             if key in {m.name.casefold(), *(h.lstrip("@").casefold() for h in m.handles.values())}]
    return replace(filters, author=found[0]) if len(found) == 1 else filters


def visible_to(doc_groups: tuple[str, ...] | list[str], groups: tuple[str, ...]) -> bool:
    """The visibility rule: a document without groups is public; otherwise members of any of
    its groups may see it."""
    return not doc_groups or any(g in groups for g in doc_groups)


def admits(filters: Filters, entry: ChunkEntry, groups: tuple[str, ...]) -> bool:
    """True when ``entry`` passes ``filters`` and ``groups`` may see it (the reference
    semantics every backend's translation must match)."""
    if not visible_to(entry.groups, groups):
        return False
    for name in ("channel", "source", "author", "kind"):
        wanted = getattr(filters, name)
        if wanted is not None and getattr(entry, name) != wanted:
            return False
    if filters.tag is not None and filters.tag not in entry.tags:
        return False
    created = entry.created_at
    if filters.since is not None and (created is None or created < (to_iso(filters.since) or "")):
        return False
    return filters.until is None or (created is not None and created <= (to_iso(filters.until) or ""))


def parse_date(value: str | None, name: str) -> datetime | None:
    """Parse a since/until value; None (not given) is None, and a bad one, including an empty
    or blank one, is a :class:`BadQueryError` naming ``name`` (a blank date is never read as
    "no limit": every edge, API and CLI, parses dates here).

    A date without a time means the whole day (UTC): ``until=2025-04-02`` includes every post
    of April 2nd, ``since=2025-04-02`` starts at its midnight.
    """
    if value is None:
        return None
    if not value.strip():
        raise BadQueryError(f"{name} is {'blank' if value else 'empty'}: give an ISO 8601 date (YYYY-MM-DD) "
                            "or date-time, or leave it out")
    try:
        moment = parse_iso(value)
    except ValueError as e:
        raise BadQueryError(f"{name}: {e}") from e
    if name == "until" and not any(mark in value for mark in "T t:"):
        try:
            return moment + timedelta(days=1, microseconds=-1)
        except OverflowError:
            return datetime.max.replace(tzinfo=UTC)
    return moment
