"""Limits in front of every request, as one ASGI middleware, checked in this order:

1. headers: at most ``max_header_count`` headers and ``max_header_kb`` KiB of them (431);
2. rate: per valid API key (``rate_limit.per_minute_key``; keys from ``TOWNSQUARE_API_KEYS``
   and the index's keys file alike) or, for anonymous callers and unknown keys, per client
   address (``rate_limit.per_minute``); 429 with ``Retry-After``. A limit of 0 is off.
   Counting uses the ``limits`` package's moving window, in memory;
3. body: a declared ``Content-Length`` over ``max_body_kb`` is refused before anything is
   read, and a streamed body is cut off once it passes the limit (413). The whole body is
   read here, within ``body_timeout_s`` seconds (else 408), before the request asks for a
   work slot, and handed to the app as one message;
4. load: at most ``serve_concurrency`` requests run at once (default: the CPU count) and at
   most ``serve_queue`` wait; beyond that 503 with ``Retry-After`` instead of a growing queue.
   A request holds its slot from the moment its body has been read until its response
   starts (or it fails), so neither a slow upload nor a response streamed to an idle client
   (the MCP ``GET /mcp`` stream, ``POST /ask/stream``) keeps others waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import time
from typing import Any

from fastapi.responses import JSONResponse
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deps import name_for_key
from app.settings import Settings

UNGATED = frozenset({"/health", "/openapi.json", "/docs", "/redoc"})
"""Cheap paths that skip the load gate (never the rate limit)."""


class Guard:
    """The middleware; see the module docstring. Built by ``app.add_middleware(Guard, settings=...)``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        limits = settings.rate_limit
        self.per_address = RateLimitItemPerMinute(limits.per_minute) if limits.per_minute else None
        self.per_key = RateLimitItemPerMinute(limits.per_minute_key) if limits.per_minute_key else None
        workers = settings.serve_concurrency or os.cpu_count() or 1
        self.running = asyncio.Semaphore(workers)
        self.capacity = workers + settings.serve_queue
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._headers_refusal(scope) or self._rate_refusal(scope) or self._length_refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        body = await self._read_body(receive)
        if isinstance(body, JSONResponse):
            await body(scope, receive, send)
            return
        if body is None:  # the client left before sending its body: nobody to answer
            return
        replay = _replaying(body, receive)
        if scope["path"] in UNGATED:
            await self.app(scope, replay, send)
            return
        if self.in_flight >= self.capacity:
            busy = _refuse(503, "the server is at capacity; try again shortly", {"Retry-After": "1"})
            await busy(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.running.acquire()
        except BaseException:
            self.in_flight -= 1
            raise
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.running.release()
                self.in_flight -= 1

        async def releasing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()  # the work is done or streams on; an idle reader must not hold the slot
            await send(message)

        try:
            await self.app(scope, replay, releasing_send)
        finally:
            release()

    def _headers_refusal(self, scope: Scope) -> JSONResponse | None:
        headers = scope["headers"]
        size = sum(len(name) + len(value) for name, value in headers)
        if len(headers) > self.settings.max_header_count or size > self.settings.max_header_kb * 1024:
            return _refuse(431, f"at most {self.settings.max_header_count} headers and "
                                f"{self.settings.max_header_kb} KiB of them are accepted")
        return None

    def _rate_refusal(self, scope: Scope) -> JSONResponse | None:
        key = _header(scope, b"x-api-key")
        if key is not None and name_for_key(self.settings, key) is not None:
            item, who = self.per_key, "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
        else:
            item, who = self.per_address, "addr:" + (scope.get("client") or ("?", 0))[0]
        if item is None or self.limiter.hit(item, who):
            return None
        reset = self.limiter.get_window_stats(item, who).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return _refuse(429, f"rate limit of {item.amount} requests per minute reached", {"Retry-After": str(wait)})

    def _length_refusal(self, scope: Scope) -> JSONResponse | None:
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_body):
            return _refuse(413, f"the request body is over the {self.settings.max_body_kb} KiB limit")
        return None

    @property
    def _max_body(self) -> int:
        return self.settings.max_body_kb * 1024

    async def _read_body(self, receive: Receive) -> bytes | JSONResponse | None:
        """The whole request body; a 413 (over the limit) or 408 (not sent within
        ``body_timeout_s``) response instead; None if the client disconnected first."""
        chunks: list[bytes] = []
        seen = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    seen += len(chunk)
                    if seen > self._max_body:
                        return _refuse(413, f"the request body is over the {self.settings.max_body_kb} KiB limit",
                                       {"Connection": "close"})
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            return _refuse(408, f"the request body was not sent within {self.settings.body_timeout_s:g} s",
                           {"Connection": "close"})


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` giving ``body`` as one message, then whatever ``receive`` gives (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _refuse(status: int, detail: str, headers: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)
