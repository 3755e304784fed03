"""The HTTP edge's error story: domain errors and bad requests become JSON that matches the
declared schema, and an unexpected failure becomes a plain 500 that keeps the connection.

Every 4xx/5xx body is ``{"detail": ...}``: a list of ``{loc, msg, type}`` for 422 (as
FastAPI's own validation errors), one line of text otherwise. Nothing a caller sent (a
question, a filter value) is echoed in a 422 or written to the log.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retrieval.errors import BadQueryError, IndexStateError, NotFoundError, TownsquareError
from retrieval.input_errors import describe_json_error

log = logging.getLogger(__name__)

STATUS = {NotFoundError: 404, BadQueryError: 422, IndexStateError: 503}


class ErrorOut(BaseModel):
    """A refused or failed request: one line saying why."""

    detail: str


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("A request body that is not JSON"),
    401: _error("Unknown API key, or the endpoint needs one"),
    413: _error("Request body too large"),
    429: _error("Too many requests: retry after the Retry-After header's seconds"),
    431: _error("Request headers too large or too many"),
    503: _error("Overloaded or no index: retry after the Retry-After header's seconds"),
}
"""Statuses any endpoint may answer (added to every route)."""
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("Not found, or not visible to the caller")}


def invalid(field: str, message: str, where: str | tuple[str, ...] = "query") -> RequestValidationError:
    """A 422 naming ``field`` (``where`` is query, body or path, or a path into the body such
    as ``("body", "filters")``), shaped like FastAPI's own."""
    prefix = [where] if isinstance(where, str) else list(where)
    return RequestValidationError([{"loc": [*prefix, field], "msg": message, "type": "value_error"}])


def _clean(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors without the offending input (it may be huge, private or not JSON-safe)."""
    out = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        msg = str(error.get("msg", "invalid value")).encode("utf-8", "replace").decode("utf-8")
        out.append({"loc": loc, "msg": msg, "type": str(error.get("type", "value_error"))})
    return out


def _not_json(errors: Sequence[Any]) -> str | None:
    """The 400 message for a body that does not parse as JSON (FastAPI reports it as a
    ``json_invalid`` validation error at ``("body", offset)``), else None."""
    for error in errors:
        if error.get("type") == "json_invalid":
            loc = error.get("loc", ())
            offset = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            reason = str((error.get("ctx") or {}).get("error", "not JSON"))
            return f"the request body is not valid JSON ({describe_json_error(reason, char=offset)})"
    return None


def _body_type_explained(errors: list[dict[str, Any]], content_type: str | None) -> list[dict[str, Any]]:
    """``errors``, where a body sent without a JSON content type (``curl -d`` sends a form; no
    type at all is not read as JSON either) is refused: FastAPI then hands the raw bytes to the
    body model, which says only "Input should be a valid dictionary"; the error at ``["body"]``
    then says what to send."""
    if content_type and _is_json_type(content_type):
        return errors
    kind = (content_type or "").split(";")[0].strip() or "none"
    msg = f"the request body must be JSON, sent with 'Content-Type: application/json' (the type sent was {kind})"
    return [{"loc": ["body"], "msg": msg, "type": "content_type"} if error["loc"] == ["body"] else error
            for error in errors]


def _is_json_type(content_type: str) -> bool:
    """True for ``application/json`` and ``application/*+json`` (as FastAPI reads them)."""
    main, _, sub = content_type.split(";")[0].strip().lower().partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def install(app: FastAPI) -> None:
    """Register the error handlers and the last-resort 500 middleware on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        not_json = _not_json(error.errors())
        if not_json is not None:
            return JSONResponse(status_code=400, content={"detail": not_json})
        detail = _body_type_explained(_clean(error.errors()), request.headers.get("content-type"))
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(TownsquareError)
    async def townsquare_error(request: Request, error: TownsquareError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
        if status == 422:
            return JSONResponse(status_code=422, content={"detail": _clean([{"loc": ["query"], "msg": str(error)}])})
        headers = {"Retry-After": "5"} if status == 503 else None
        return JSONResponse(status_code=status, content={"detail": str(error)}, headers=headers)

    app.add_middleware(CatchAll)


class CatchAll:
    """ASGI middleware: an unexpected exception becomes a JSON 500 (the connection stays
    usable) and is logged by type and stack frames (file, line, function) only: its message,
    and any source line, may quote the caller's input."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as e:  # noqa: BLE001 - the last line of defence
            stack = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                for f in reversed(traceback.extract_tb(e.__traceback__)))
            log.error("500 on %s %s: %s at %s", scope.get("method"), scope.get("path"), type(e).__name__, stack)
            if not started:
                response = JSONResponse(status_code=500, content={"detail": "internal error (logged on the server)"})
                await response(scope, receive, send)
