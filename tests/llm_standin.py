"""A small OpenAI-compatible chat server for the writer-model tests: real uvicorn on a free
loopback port, in a thread of the test process, answering ``POST /v1/chat/completions``
with a scripted reply (whole, or streamed as SSE ``data: {...}`` chunks then ``data: [DONE]``).

Each test sets what the next replies do (:class:`Script`) and reads what the server was sent
(:attr:`StandIn.requests`). The reply may be a function of the passages in the prompt, so a
test can quote exactly what the product sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tests.api_server import free_port

PASSAGE = re.compile(r"^\[(\d+)\] [^\n]*\n(.+?)(?=\n\n\[\d+\] |\n\nQuestion: )", re.M | re.S)


def passages_in(body: dict[str, Any]) -> dict[int, str]:
    """Passage number -> text, as the product's prompt listed them in the user message."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return {int(n): text for n, text in PASSAGE.findall(user)}


def a_sentence(text: str) -> str:
    """The longest sentence of a passage (it surely states something)."""
    return max(re.split(r"(?<=[.!?])\s+", text.strip()), key=len)


@dataclass
class Script:
    """What the server does with the next requests: ``reply`` (text, or a function of the
    prompt's passages), ``delay`` seconds before answering, ``status``, or ``raw`` text sent
    as the body instead of a completion; ``chunk`` characters per streamed event."""

    reply: str | Callable[[dict[int, str]], str] = ""
    delay: float = 0.0
    status: int = 200
    raw: str | None = None
    chunk: int = 7


@dataclass
class StandIn:
    """The running stand-in: its base URL (``.../v1``), the script, the requests received."""

    url: str
    script: Script = field(default_factory=Script)
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    """The ``Authorization`` header of each request ("" when absent)."""

    def sent_text(self) -> str:
        """Everything the server was sent, as one text."""
        return "\n".join(json.dumps(r) for r in self.requests)


def _app(standin: StandIn) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Response:
        body = await request.json()
        standin.requests.append(body)
        standin.auth.append(request.headers.get("authorization", ""))
        script = standin.script
        if script.delay:
            await asyncio.sleep(script.delay)
        if script.status != 200:
            return JSONResponse({"error": {"message": "scripted failure"}}, status_code=script.status)
        if script.raw is not None:
            media = "text/event-stream" if body.get("stream") else "application/json"
            return PlainTextResponse(script.raw, media_type=media)
        text = script.reply(passages_in(body)) if callable(script.reply) else script.reply
        if body.get("stream"):
            return StreamingResponse(_chunks(text, script.chunk), media_type="text/event-stream")
        return JSONResponse({"id": "x", "object": "chat.completion", "model": body["model"],
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}]})

    return app


def _chunks(text: str, size: int) -> Iterator[str]:
    yield 'data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}\n\n'
    for start in range(0, len(text), size):
        delta = {"choices": [{"index": 0, "delta": {"content": text[start:start + size]}}]}
        yield f"data: {json.dumps(delta)}\n\n"
    yield "data: [DONE]\n\n"


@contextmanager
def standin_server() -> Iterator[StandIn]:
    """Run the stand-in until the block ends."""
    port = free_port()
    standin = StandIn(f"http://127.0.0.1:{port}/v1")
    config = uvicorn.Config(_app(standin), host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the stand-in chat server did not start")
        time.sleep(0.05)
    try:
        yield standin
    finally:
        server.should_exit = True
        thread.join(timeout=10)
