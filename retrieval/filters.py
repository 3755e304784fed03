"""Search filters and the visibility rule, as plain values and pure functions.

This is the one place the visibility rule is defined: a document is visible when it is public
or when the caller belongs to one of its groups. Backends translate :class:`Filters` and the
caller's groups into their own terms (SQL, id selectors, engine expressions); :func:`admits`
is the reference those translations must agree with (the contract tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from retrieval.errors import BadQueryError
from retrieval.records import parse_iso, to_iso

if TYPE_CHECKING:
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
    """Parse a since/until value; a bad one is a :class:`BadQueryError` naming ``name``.

    A date without a time means the whole day (UTC): ``until=2025-04-02`` includes every post
    of April 2nd, ``since=2025-04-02`` starts at its midnight.
    """
    if value is None or not value.strip():
        return None
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
