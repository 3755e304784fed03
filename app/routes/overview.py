"""GET /overview: the "start here" page's data for newcomers."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import CallerDep, LibraryDep
from app.schemas_read import OverviewOut
from retrieval.overview import OverviewCache

router = APIRouter(tags=["overview"])

_overviews = OverviewCache()
"""Keyed by snapshot path and groups, so a new snapshot is never served a stale overview."""


@router.get("/overview", response_model=OverviewOut)
def overview(library: LibraryDep, who: CallerDep) -> OverviewOut:
    """Most discussed topics (clusters of threads, with who answered most in each), the
    best-received answered threads, the shared resources, and the channels and tags in use,
    all from what the caller may see."""
    return OverviewOut.model_validate(_overviews.get(library.snapshot(), who.groups).to_dict())
