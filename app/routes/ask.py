"""POST /ask: a cited answer and who to ask."""

from __future__ import annotations

from fastapi import APIRouter

from app.convert import citation_out, expert_out, hit_out
from app.deps import ActivityDep, CallerDep, LibraryDep, SettingsDep, checked_query
from app.routes.search import make_filters
from app.schemas import AskIn, AskOut
from retrieval.answer import worded

router = APIRouter(tags=["answers"])

WEAK_CONFIDENCE = 0.5
"""Answers below this confidence are listed as knowledge gaps in the admin view."""


@router.post("/ask", response_model=AskOut)
def ask(body: AskIn, library: LibraryDep, activity: ActivityDep, config: SettingsDep, who: CallerDep) -> AskOut:
    """Answer from what the community said, each sentence cited; abstain when evidence is weak."""
    question = checked_query(body.question, config, "question", "body")
    filters = make_filters(**body.filters.model_dump(), where="body")
    answer = library.ask(question, filters=filters, groups=who.groups, k_experts=body.k_experts)
    weak = answer.abstained or answer.confidence < WEAK_CONFIDENCE
    vector = library.embedder.embed([question])[0] if weak else None  # kept to group knowledge gaps
    answer_id = activity.record_question(
        question, who.groups, answer.confidence, answer.abstained, vector, who.name
    )
    return AskOut(
        answer_id=answer_id, answer=worded(answer), citations=[citation_out(c) for c in answer.citations],
        confidence=round(answer.confidence, 4), abstained=answer.abstained,
        experts=[expert_out(e) for e in answer.experts], closest=[hit_out(h) for h in answer.closest],
    )
