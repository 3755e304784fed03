"""GET /search, GET /experts and POST /experts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.convert import expert_out, hit_out
from app.deps import CallerDep, LibraryDep, SettingsDep, checked_k, checked_query
from app.problems import invalid
from app.schemas import MAX_FILTER_CHARS, MAX_QUESTION_CHARS, DateText, ExpertsIn, ExpertsOut, SearchOut
from retrieval.errors import BadQueryError
from retrieval.filters import Filters, parse_date

router = APIRouter(tags=["search"])

Question = Annotated[str, Query(description="what to look for", min_length=1, max_length=MAX_QUESTION_CHARS)]
# min_length=1: an empty query parameter is a 422 (app.deps.one_value_each); the schema says so
Facet = Annotated[str | None, Query(min_length=1, max_length=MAX_FILTER_CHARS)]
Date = Annotated[DateText | None, Query(min_length=1, max_length=MAX_FILTER_CHARS)]


def make_filters(
    channel: str | None = None, source: str | None = None, author: str | None = None, tag: str | None = None,
    since: str | None = None, until: str | None = None, kind: str | None = None,
    where: str | tuple[str, ...] = "query",
) -> Filters:
    """Filters from request values (None: not given); a bad date (empty, blank or not ISO 8601)
    or kind is a 422 naming the field under ``where`` (``("body", "filters")`` for a JSON body)."""
    dates = {}
    for name, value in (("since", since), ("until", until)):
        try:
            dates[name] = parse_date(value, name)
        except BadQueryError as e:
            raise invalid(name, str(e), where) from e
    try:
        return Filters(
            channel=channel, source=source, author=author, tag=tag, kind=kind, **dates,
        )
    except BadQueryError as e:
        raise invalid("until" if "until" in str(e) else "kind", str(e), where) from e


@router.get("/search", response_model=SearchOut)
def search(
    library: LibraryDep, config: SettingsDep, who: CallerDep,
    q: Question,
    k: Annotated[int, Query(description="number of results", ge=1, le=100)] = 10,
    channel: Facet = None, source: Facet = None, author: Facet = None, tag: Facet = None,
    since: Date = None,
    until: Annotated[DateText | None, Query(description="a date includes its whole day",
                                                 min_length=1, max_length=MAX_FILTER_CHARS)] = None,
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
    q: Question,
    k: Annotated[int, Query(description="number of members", ge=1, le=100)] = 5,
    channel: Facet = None, tag: Facet = None,
) -> ExpertsOut:
    """Members who know most about ``q``, with the threads where they helped; never the
    caller themself (a key named after their member id)."""
    found = library.experts(
        checked_query(q, config), filters=make_filters(channel=channel, tag=tag), groups=who.groups,
        k=checked_k(k, config), asker=who.name,
    )
    return ExpertsOut(experts=[expert_out(e) for e in found])


@router.post("/experts", response_model=ExpertsOut)
def experts_of_a_question(body: ExpertsIn, library: LibraryDep, config: SettingsDep, who: CallerDep) -> ExpertsOut:
    """GET /experts with the question in a JSON body (``{"question", "k", "filters": {"channel",
    "tag"}}``): for whole questions of up to 10,000 characters in any script."""
    found = library.experts(
        checked_query(body.question, config, "question", "body"),
        filters=make_filters(**body.filters.model_dump(), where=("body", "filters")), groups=who.groups,
        k=checked_k(body.k, config, where="body"), asker=who.name,
    )
    return ExpertsOut(experts=[expert_out(e) for e in found])
