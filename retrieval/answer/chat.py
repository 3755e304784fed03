"""Talking to a language model: the :class:`Generator` Protocol and its one implementation,
:class:`OpenAIChat`, a client of any OpenAI-compatible chat endpoint (``POST {url}/chat/completions``:
Ollama, vLLM, llama.cpp server, hosted APIs).

One request per call and no retries: a slow or failing endpoint costs one timeout, then the
caller falls back to the extractive answer. Every failure is a :class:`GeneratorError` whose
``reason`` is one of ``timeout``, ``unreachable``, ``status``, ``malformed``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from retrieval.errors import ConfigError, TownsquareError

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
"""Chat messages: ``[{"role": "system" | "user", "content": text}, ...]``."""
CONNECT_SECONDS = 3.0


class GeneratorError(TownsquareError):
    """The model's endpoint failed; ``reason`` is ``timeout``, ``unreachable``, ``status`` or
    ``malformed``. The message never contains the API key or the prompt."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Generator(Protocol):
    """Writes a reply to chat messages. ``complete`` returns the whole reply; ``stream``
    yields it in pieces as they arrive (their concatenation is the reply). Both raise
    :class:`GeneratorError` on any failure, within about ``timeout`` seconds in all."""

    model: str
    timeout: float

    def complete(self, messages: Messages) -> str:
        """The reply to ``messages``."""
        ...

    def stream(self, messages: Messages) -> Iterator[str]:
        """The reply to ``messages``, piece by piece."""
        ...


@dataclass
class OpenAIChat:
    """An OpenAI-compatible chat endpoint at ``url`` (e.g. ``http://localhost:11434/v1``).
    ``timeout`` bounds the whole call in seconds (connecting, waiting and reading)."""

    url: str
    model: str
    api_key: str | None = None
    timeout: float = 20.0
    max_tokens: int = 400
    temperature: float = 0.1

    def complete(self, messages: Messages) -> str:
        """See :class:`Generator`."""
        try:
            response = httpx.post(self._endpoint(), json=self._body(messages, False), headers=self._headers(),
                                  timeout=self._timeouts())
        except httpx.HTTPError as e:
            raise _failure(e, self.url, self.timeout) from None
        _check_status(response, self.url)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise GeneratorError("malformed", f"{self.url} answered without a chat completion") from None
        if not isinstance(content, str):
            raise GeneratorError("malformed", f"{self.url} answered a completion without text")
        return content

    def stream(self, messages: Messages) -> Iterator[str]:
        """See :class:`Generator`: Server-Sent Events ``data: {...}`` lines until ``data: [DONE]``."""
        deadline = time.monotonic() + self.timeout
        try:
            with httpx.stream("POST", self._endpoint(), json=self._body(messages, True), headers=self._headers(),
                              timeout=self._timeouts()) as response:
                _check_status(response, self.url)
                for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        raise GeneratorError("timeout", f"{self.url} did not finish within {self.timeout:g} s")
                    piece = _event_text(line, self.url)
                    if piece is None:
                        return
                    if piece:
                        yield piece
        except httpx.HTTPError as e:
            raise _failure(e, self.url, self.timeout) from None

    def _endpoint(self) -> str:
        return self.url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _timeouts(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=min(CONNECT_SECONDS, self.timeout))

    def _body(self, messages: Messages, stream: bool) -> dict[str, Any]:
        return {"model": self.model, "messages": messages, "stream": stream,
                "max_tokens": self.max_tokens, "temperature": self.temperature}


def _event_text(line: str, url: str) -> str | None:
    """The text of one SSE line of a streamed completion: "" for lines carrying none
    (comments, blank lines, role-only deltas), None at ``[DONE]``."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        choices = json.loads(data)["choices"]
        piece = choices[0].get("delta", {}).get("content") if choices else ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise GeneratorError("malformed", f"{url} streamed an event that is not a chat completion chunk") from None
    return piece if isinstance(piece, str) else ""


def _check_status(response: httpx.Response, url: str) -> None:
    if response.status_code >= 400:
        raise GeneratorError("status", f"{url} answered HTTP {response.status_code}")


def _failure(error: httpx.HTTPError, url: str, timeout: float) -> GeneratorError:
    if isinstance(error, httpx.TimeoutException):
        return GeneratorError("timeout", f"{url} did not answer within {timeout:g} s")
    return GeneratorError("unreachable", f"cannot reach {url} ({type(error).__name__})")


GENERATORS: dict[str, Callable[..., Generator]] = {"openai": OpenAIChat}
"""API flavour -> client factory (keyword options: url, model, api_key, timeout, ...)."""


def get_generator(name: str, **options: Any) -> Generator:
    """The generator client registered as ``name``; an unknown name lists the known ones."""
    try:
        factory = GENERATORS[name]
    except KeyError:
        raise ConfigError(f"unknown generator API {name!r}; known: {', '.join(sorted(GENERATORS))}") from None
    return factory(**options)
