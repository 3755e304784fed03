"""Health, index statistics, feedback, and knowledge gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from app.deps import ActivityDep, CallerDep, FacilitatorDep, LibraryDep, WriterDep
from app.gaps import WEAK_CONFIDENCE, group_questions, mark_gaps
from app.problems import NOT_FOUND
from app.schemas import FeedbackIn, FeedbackOut
from app.schemas_read import FeedbackSummaryOut, GapsOut, HealthOut, StatsOut

router = APIRouter(tags=["admin"])


@router.get("/health", response_model=HealthOut)
def health(library: LibraryDep, who: CallerDep) -> HealthOut:
    """Liveness plus the snapshot being served."""
    return HealthOut(status="ok", snapshot=library.snapshot().name)


@router.get("/stats", response_model=StatsOut)
def stats(library: LibraryDep, who: CallerDep) -> StatsOut:
    """Counts of the threads, posts, resources, chunks and members the caller may see; model;
    for facilitators also the index size and the last ingest's report."""
    return StatsOut.model_validate(library.stats(who.groups, whole_index=who.role == "facilitator"))


@router.post("/feedback", response_model=FeedbackOut, status_code=201, responses=NOT_FOUND)
def feedback(body: FeedbackIn, activity: ActivityDep, who: WriterDep) -> FeedbackOut:
    """Store feedback on an answer or an expert suggestion (needs an API key)."""
    if body.answer_id and not activity.answer_exists(body.answer_id):
        raise HTTPException(status_code=404, detail="no such answer")
    feedback_id = activity.record_feedback(
        body.target, body.helpful, body.answer_id, body.member_id, body.comment, who.groups, who.name
    )
    return FeedbackOut(id=feedback_id)


@router.get("/admin/feedback", response_model=FeedbackSummaryOut)
def feedback_summary(activity: ActivityDep, who: FacilitatorDep) -> FeedbackSummaryOut:
    """Feedback counts and the latest comments from callers sharing a group with the
    facilitator, or anonymous (needs a facilitator key)."""
    return FeedbackSummaryOut.model_validate(activity.feedback_summary(who.groups))


@router.get("/admin/gaps", response_model=GapsOut)
def gaps(
    activity: ActivityDep, library: LibraryDep, who: FacilitatorDep,
    days: Annotated[int, Query(ge=1, le=3650, description="how far back to look")] = 30,
    max_confidence: Annotated[
        float, Query(ge=0, le=1, description="answers below this count as weak")] = WEAK_CONFIDENCE,
    off_topic: Annotated[bool | None, Query(description="only off-topic gaps (true), none of them (false)")] = None,
) -> GapsOut:
    """Recent questions that abstained or had low confidence, grouped by similarity, from
    callers sharing a group with the facilitator, or anonymous (needs a facilitator key);
    each marked off-topic or answered privately from what the facilitator may see
    (``app/gaps.py``), off-topic ones last."""
    since = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = group_questions(activity.weak_questions(since, max_confidence, who.groups))
    marked = mark_gaps(found, library, who.groups, check_private=off_topic is not True)
    return GapsOut.model_validate({"gaps": [g.to_json() for g in marked if off_topic in (None, g.off_topic)]})
