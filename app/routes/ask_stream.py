"""POST /ask/stream: the answer of POST /ask as Server-Sent Events, for the page to show a
written answer as it is checked.

Events: ``sentence`` (a :class:`~app.schemas_written.SentenceEvent`) for each checked sentence
of a written answer as it completes (none when no writer model is configured, or the evidence
is too weak to write from), then one ``answer`` (the :class:`~app.schemas.AskOut` of POST
/ask, which may replace the streamed sentences: e.g. the extractive answer when the model
timed out). An unexpected failure after the stream began ends it with ``error``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.deps import ActivityDep, CallerDep, LibraryDep, SettingsDep, checked_query
from app.routes.ask import ask_out, record
from app.routes.search import make_filters
from app.schemas import AskIn
from app.schemas_written import SentenceEvent
from retrieval.answer.llm_writer import Draft

log = logging.getLogger(__name__)
router = APIRouter(tags=["answers"])

EVENT = {"type": "object", "required": ["event", "data"], "properties": {
    "event": {"type": "string", "enum": ["sentence", "answer", "error"]},
    "data": {"type": "string", "description": "JSON: SentenceEvent, AskOut, or {detail}"},
}}
"""One event of the stream as OpenAPI 3.2 describes Server-Sent Events (each validated alone)."""
STREAM_RESPONSE = {200: {"description": "Server-Sent Events: sentence*, then answer (or error)",
                         "content": {"text/event-stream": {"schema": {"type": "array", "items": EVENT},
                                                         "itemSchema": EVENT}}}}


@router.post("/ask/stream", response_class=StreamingResponse, responses=STREAM_RESPONSE)  # type: ignore[arg-type]
def ask_stream(body: AskIn, library: LibraryDep, activity: ActivityDep, config: SettingsDep,
               who: CallerDep) -> StreamingResponse:
    """POST /ask, streamed: checked sentences as the writer model completes them, then the answer."""
    question = checked_query(body.question, config, "question", "body")
    filters = make_filters(**body.filters.model_dump(), where=("body", "filters"))
    draft = library.ask_draft(question, filters=filters, groups=who.groups, k_experts=body.k_experts,
                              asker=who.name)
    answer_id = record(activity, library, question, who, draft.confidence, draft.fallback.abstained)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(draft, answer_id), media_type="text/event-stream", headers=headers)


def events(draft: Draft, answer_id: str) -> Iterator[str]:
    """The SSE text of ``draft``: its sentences, then its answer."""
    try:
        for index, sentence in enumerate(draft.sentences()):
            yield sse("sentence", SentenceEvent(index=index, text=sentence).model_dump_json())
        yield sse("answer", ask_out(answer_id, draft.answer()).model_dump_json())
    except Exception:  # the response has begun: end it with a clear event, not a cut connection
        log.exception("streaming answer %s failed", answer_id)
        yield sse("error", json.dumps({"detail": "the answer could not be finished; ask again"}))


def sse(event: str, data: str) -> str:
    """One Server-Sent Event (``data`` is one line of JSON)."""
    return f"event: {event}\ndata: {data}\n\n"
