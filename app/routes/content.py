"""Whole threads, resources and members, as the caller may see them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.convert import hit_out
from app.deps import CallerDep, LibraryDep
from app.schemas import SearchOut
from retrieval.content import get_resource, get_thread, list_members, member_profile
from retrieval.search import related_documents

router = APIRouter(tags=["content"])


@router.get("/threads/{thread_id}")
def thread(thread_id: str, library: LibraryDep, who: CallerDep) -> dict[str, Any]:
    """A thread with all its posts; 404 when missing or not visible to the caller."""
    return get_thread(library.snapshot().catalog, thread_id, who.groups)


@router.get("/threads/{thread_id}/related", response_model=SearchOut)
def related(thread_id: str, library: LibraryDep, who: CallerDep, k: int = 5) -> SearchOut:
    """Threads and resources most similar to this thread."""
    get_thread(library.snapshot().catalog, thread_id, who.groups)  # 404 unless visible
    hits = related_documents(library.searcher(), thread_id, k=max(1, min(k, 20)), groups=who.groups)
    return SearchOut(hits=[hit_out(h) for h in hits])


@router.get("/resources/{resource_id:path}")
def resource(resource_id: str, library: LibraryDep, who: CallerDep) -> dict[str, Any]:
    """A shared resource with its text; 404 when missing or not visible."""
    return get_resource(library.snapshot().catalog, resource_id, who.groups)


@router.get("/members")
def members(library: LibraryDep, who: CallerDep) -> dict[str, Any]:
    """The member directory, with strengths computed from content the caller may see."""
    return {"members": list_members(library.snapshot().catalog, who.groups)}


@router.get("/members/{member_id}")
def member(member_id: str, library: LibraryDep, who: CallerDep) -> dict[str, Any]:
    """One member's profile."""
    return member_profile(library.snapshot().catalog, member_id, who.groups)
