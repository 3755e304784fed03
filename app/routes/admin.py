"""Health, index statistics, feedback, and knowledge gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException

from app.deps import ActivityDep, CallerDep, FacilitatorDep, LibraryDep, WriterDep
from app.gaps import group_questions
from app.schemas import FeedbackIn, FeedbackOut

router = APIRouter(tags=["admin"])


@router.get("/health")
def health(library: LibraryDep, who: CallerDep) -> dict[str, Any]:
    """Liveness plus the snapshot being served."""
    return {"status": "ok", "snapshot": library.snapshot().name}


@router.get("/stats")
def stats(library: LibraryDep, who: CallerDep) -> dict[str, Any]:
    """Counts of the threads, posts, resources, chunks and members the caller may see; model;
    for facilitators also the index size and the last ingest's report."""
    return library.stats(who.groups, whole_index=who.role == "facilitator")


@router.post("/feedback", response_model=FeedbackOut, status_code=201)
def feedback(body: FeedbackIn, activity: ActivityDep, who: WriterDep) -> FeedbackOut:
    """Store feedback on an answer or an expert suggestion (needs an API key)."""
    if body.target == "answer" and not body.answer_id:
        raise HTTPException(status_code=422, detail="answer_id is required for feedback on an answer")
    if body.target == "expert" and not body.member_id:
        raise HTTPException(status_code=422, detail="member_id is required for feedback on an expert")
    if body.answer_id and not activity.answer_exists(body.answer_id):
        raise HTTPException(status_code=404, detail=f"no answer {body.answer_id!r}")
    feedback_id = activity.record_feedback(
        body.target, body.helpful, body.answer_id, body.member_id, body.comment, who.groups, who.name
    )
    return FeedbackOut(id=feedback_id)


@router.get("/admin/feedback")
def feedback_summary(activity: ActivityDep, who: FacilitatorDep) -> dict[str, Any]:
    """Feedback counts and the latest comments from callers sharing a group with the
    facilitator, or anonymous (needs a facilitator key)."""
    return activity.feedback_summary(who.groups)


@router.get("/admin/gaps")
def gaps(
    activity: ActivityDep, who: FacilitatorDep, days: int = 30, max_confidence: float = 0.5
) -> dict[str, Any]:
    """Recent questions that abstained or had low confidence, grouped by similarity, from
    callers sharing a group with the facilitator, or anonymous (needs a facilitator key)."""
    since = (datetime.now(UTC) - timedelta(days=max(1, days))).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"gaps": group_questions(activity.weak_questions(since, max_confidence, who.groups))}
