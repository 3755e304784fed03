"""POST /ask: a cited answer and who to ask."""

from __future__ import annotations

from fastapi import APIRouter

from app.activity import ActivityLog
from app.convert import citation_out, expert_out, generator_out, hit_out
from app.deps import ActivityDep, Caller, CallerDep, LibraryDep, SettingsDep, checked_query
from app.gaps import WEAK_CONFIDENCE
from app.routes.search import make_filters
from app.schemas import AskIn, AskOut
from retrieval.answer import Answer, worded
from retrieval.library import Pinned

router = APIRouter(tags=["answers"])


@router.post("/ask", response_model=AskOut)
def ask(body: AskIn, library: LibraryDep, activity: ActivityDep, config: SettingsDep, who: CallerDep) -> AskOut:
    """Answer from what the community said, each sentence cited; abstain when evidence is weak."""
    question = checked_query(body.question, config, "question", "body")
    filters = make_filters(**body.filters.model_dump(), where=("body", "filters"))
    answer = library.ask(question, filters=filters, groups=who.groups, k_experts=body.k_experts,
                         asker=who.name)
    answer_id = record(activity, library, question, who, answer.confidence, answer.abstained)
    return ask_out(answer_id, answer)


def record(activity: ActivityLog, library: Pinned, question: str, who: Caller, confidence: float,
           abstained: bool) -> str:
    """Log the asked question (with its embedding when the answer is weak, to group knowledge
    gaps); returns the answer id."""
    weak = abstained or confidence < WEAK_CONFIDENCE
    vector = library.embedder.embed([question])[0] if weak else None
    return activity.record_question(question, who.groups, confidence, abstained, vector, who.name)


def ask_out(answer_id: str, answer: Answer) -> AskOut:
    """The API's view of ``answer``."""
    return AskOut(
        answer_id=answer_id, answer=worded(answer), citations=[citation_out(c) for c in answer.citations],
        confidence=round(answer.confidence, 4), abstained=answer.abstained,
        experts=[expert_out(e) for e in answer.experts], closest=[hit_out(h) for h in answer.closest],
        generator=generator_out(answer),
    )
