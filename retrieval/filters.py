"""Search filters and visibility, turned into SQL that selects the chunks a caller may see.

This is the one place the visibility rule lives: a document is visible when it is public or
when the caller belongs to one of its groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from retrieval.errors import BadQueryError
from retrieval.records import parse_iso, to_iso

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


def visible_sql(groups: tuple[str, ...], doc: str = "d") -> tuple[str, list[object]]:
    """SQL condition (on documents aliased ``doc``) for what members of ``groups`` may see."""
    if not groups:
        return f"{doc}.is_public = 1", []
    marks = ",".join("?" * len(groups))
    return (
        f"({doc}.is_public = 1 OR EXISTS (SELECT 1 FROM doc_groups g "
        f"WHERE g.doc_id = {doc}.id AND g.grp IN ({marks})))",
        list(groups),
    )


def chunk_filter_sql(filters: Filters, groups: tuple[str, ...]) -> tuple[str, list[object]]:
    """``SELECT c.id ...`` of every chunk passing ``filters`` and visible to ``groups``."""
    condition, params = visible_sql(groups)
    where = [condition]
    simple = {"channel": "d.channel", "source": "d.source", "kind": "d.kind", "author": "c.author"}
    for name, column in simple.items():
        value = getattr(filters, name)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if filters.tag is not None:
        where.append("EXISTS (SELECT 1 FROM doc_tags t WHERE t.doc_id = d.id AND t.tag = ?)")
        params.append(filters.tag)
    if filters.since is not None:
        where.append("c.created_at >= ?")
        params.append(to_iso(filters.since))
    if filters.until is not None:
        where.append("c.created_at <= ?")
        params.append(to_iso(filters.until))
    sql = "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE " + " AND ".join(where)
    return sql, params


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
