"""GET /search and GET /experts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.convert import expert_out, hit_out
from app.deps import CallerDep, LibraryDep, SettingsDep, checked_k, checked_query
from app.schemas import ExpertsOut, SearchOut
from retrieval.filters import Filters, parse_date

router = APIRouter(tags=["search"])


def make_filters(
    channel: str | None = None, source: str | None = None, author: str | None = None, tag: str | None = None,
    since: str | None = None, until: str | None = None, kind: str | None = None,
) -> Filters:
    """Filters from request values; bad dates or kinds raise BadQueryError (422)."""
    return Filters(
        channel=channel or None, source=source or None, author=author or None, tag=tag or None,
        since=parse_date(since, "since"), until=parse_date(until, "until"), kind=kind or None,
    )


@router.get("/search", response_model=SearchOut)
def search(
    library: LibraryDep, config: SettingsDep, who: CallerDep,
    q: Annotated[str, Query(description="what to look for")],
    k: Annotated[int, Query(description="number of results")] = 10,
    channel: str | None = None, source: str | None = None, author: str | None = None, tag: str | None = None,
    since: Annotated[str | None, Query(description="ISO 8601 date")] = None,
    until: Annotated[str | None, Query(description="ISO 8601 date")] = None,
    kind: Literal["thread", "resource"] | None = None,
    collapse: Annotated[bool, Query(description="one hit per thread or resource")] = True,
) -> SearchOut:
    """Hybrid search over what the caller may see, filters applied before ranking."""
    filters = make_filters(channel, source, author, tag, since, until, kind)
    hits = library.searcher().search(
        checked_query(q, config), k=checked_k(k, config), filters=filters, groups=who.groups, collapse=collapse
    )
    return SearchOut(hits=[hit_out(h) for h in hits])


@router.get("/experts", response_model=ExpertsOut)
def experts(
    library: LibraryDep, config: SettingsDep, who: CallerDep,
    q: Annotated[str, Query(description="the topic or question")],
    k: Annotated[int, Query(description="number of members")] = 5,
    channel: str | None = None, tag: str | None = None,
) -> ExpertsOut:
    """Members who know most about ``q``, with the threads where they helped."""
    found = library.experts(
        checked_query(q, config), filters=make_filters(channel=channel, tag=tag), groups=who.groups,
        k=checked_k(k, config),
    )
    return ExpertsOut(experts=[expert_out(e) for e in found])
