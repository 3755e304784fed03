"""Whole threads, resources and members, as the caller may see them.

Ids may contain slashes (``forum/123``, ``guides/smoke.md``): every id route takes the rest
of the path, so a client may send the id as is or percent-encoded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.convert import hit_out
from app.deps import CallerDep, LibraryDep
from app.problems import NOT_FOUND
from app.schemas import SearchOut
from app.schemas_read import MemberOut, MembersOut, ResourceOut, ThreadOut
from retrieval.content import get_resource, get_thread, list_members, member_profile
from retrieval.search import related_documents

router = APIRouter(tags=["content"], responses=NOT_FOUND)


@router.get("/threads/{thread_id:path}/related", response_model=SearchOut)
def related(
    thread_id: str, library: LibraryDep, who: CallerDep,
    k: Annotated[int, Query(ge=1, le=20, description="number of related documents")] = 5,
) -> SearchOut:
    """Threads and resources most similar to this thread."""
    get_thread(library.snapshot().catalog, thread_id, who.groups)  # 404 unless visible
    hits = related_documents(library.searcher(), thread_id, k=k, groups=who.groups)
    return SearchOut(hits=[hit_out(h) for h in hits])


@router.get("/threads/{thread_id:path}", response_model=ThreadOut)
def thread(thread_id: str, library: LibraryDep, who: CallerDep) -> ThreadOut:
    """A thread with all its posts; 404 when missing or not visible to the caller."""
    return ThreadOut.model_validate(get_thread(library.snapshot().catalog, thread_id, who.groups))


@router.get("/resources/{resource_id:path}", response_model=ResourceOut)
def resource(resource_id: str, library: LibraryDep, who: CallerDep) -> ResourceOut:
    """A shared resource with its text; 404 when missing or not visible."""
    return ResourceOut.model_validate(get_resource(library.snapshot().catalog, resource_id, who.groups))


@router.get("/members", response_model=MembersOut)
def members(library: LibraryDep, who: CallerDep) -> MembersOut:
    """The member directory, with strengths computed from content the caller may see."""
    return MembersOut.model_validate({"members": list_members(library.snapshot().catalog, who.groups)})


@router.get("/members/{member_id:path}", response_model=MemberOut)
def member(member_id: str, library: LibraryDep, who: CallerDep) -> MemberOut:
    """One member's profile."""
    return MemberOut.model_validate(member_profile(library.snapshot().catalog, member_id, who.groups))
