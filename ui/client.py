"""A small typed HTTP client of the Townsquare API, used by the page.

Every failure becomes an :class:`ApiError` whose text is one line naming the URL tried, so
the page can show it as is (no tracebacks) and simply try again on the next rerun.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

Json = dict[str, Any]
CONNECT_TIMEOUT = 3.0


class ApiError(Exception):
    """A request failed; ``str(error)`` is one line for the page. ``status`` is the HTTP
    status when the API answered, None when it could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Filters:
    """The sidebar's search filters; empty values mean "any"."""

    channel: str = ""
    author: str = ""
    tag: str = ""
    since: date | None = None
    until: date | None = None
    kind: str = ""
    source: str = ""

    def as_params(self) -> dict[str, str]:
        """Query parameters (or /ask filter fields) for the set filters; ``until`` is inclusive."""
        params = {"channel": self.channel, "author": self.author, "tag": self.tag, "kind": self.kind,
                  "source": self.source}
        if self.since:
            params["since"] = self.since.isoformat()
        if self.until:
            params["until"] = f"{self.until.isoformat()}T23:59:59Z"
        return {name: value for name, value in params.items() if value}


@dataclass(frozen=True)
class Client:
    """The API at ``base_url``, called with ``api_key`` (header ``X-API-Key``) when set."""

    base_url: str
    api_key: str | None = None
    timeout: float = 30.0

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Json | None = None) -> Any:
        """Send one request and return the decoded JSON.

        Raises:
            ApiError: unreachable, too slow, an error status, or not JSON.
        """
        url = self.base_url.rstrip("/") + path
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        try:
            response = httpx.request(
                method, url, params=params, json=body, headers=headers,
                timeout=httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT),
            )
        except httpx.TimeoutException as e:
            raise ApiError(f"The Townsquare API at {self.base_url} did not answer within {self.timeout:g} s.") from e
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ApiError(f"Cannot reach the Townsquare API at {self.base_url} ({reason}).") from e
        if response.status_code >= 400:
            retry = response.headers.get("Retry-After")
            later = f" Try again in {retry} s." if retry and response.status_code in (429, 503) else ""
            raise ApiError(f"The API at {url} answered {response.status_code}: {_detail(response).rstrip('.')}.{later}",
                           response.status_code)
        try:
            return response.json()
        except ValueError as e:
            raise ApiError(f"The API at {url} did not answer with JSON (is {self.base_url} Townsquare?).") from e

    def health(self) -> Json:
        """GET /health: liveness and the snapshot served. A short timeout: it gates every view."""
        return Client(self.base_url, self.api_key, timeout=5.0).request("GET", "/health")

    def stats(self) -> Json:
        """GET /stats: counts, model, size, last ingest."""
        return self.request("GET", "/stats")

    def overview(self) -> Json:
        """GET /overview: topics, best answers, resources, facets."""
        return self.request("GET", "/overview")

    def search(self, q: str, filters: Filters | None = None, k: int = 20, collapse: bool = True) -> list[Json]:
        """GET /search: hits, one per thread or resource when ``collapse``."""
        params = {"q": q, "k": k, "collapse": str(collapse).lower(), **(filters or Filters()).as_params()}
        return self.request("GET", "/search", params=params)["hits"]

    def ask(self, question: str, filters: Filters | None = None, k_experts: int = 3) -> Json:
        """POST /ask: a cited answer (or an abstention), experts and the closest hits."""
        body = {"question": question, "filters": (filters or Filters()).as_params(), "k_experts": k_experts}
        return self.request("POST", "/ask", body=body)

    def ask_stream(self, question: str, filters: Filters | None = None, k_experts: int = 3) -> Iterator[Json]:
        """POST /ask/stream: ``{"event": "sentence", "text": ...}`` for each checked sentence of
        a written answer as it completes, then ``{"event": "answer", **(POST /ask's answer)}``.

        Raises:
            ApiError: as :meth:`request`, also when the stream ends without an answer.
        """
        body = {"question": question, "filters": (filters or Filters()).as_params(), "k_experts": k_experts}
        url = self.base_url.rstrip("/") + "/ask/stream"
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        try:
            with httpx.stream("POST", url, json=body, headers=headers,
                              timeout=httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(f"The API at {url} answered {response.status_code}: "
                                   f"{_detail(response).rstrip('.')}.", response.status_code)
                yield from _answer_events(response.iter_lines(), url)
        except httpx.TimeoutException as e:
            raise ApiError(f"The Townsquare API at {self.base_url} did not answer within {self.timeout:g} s.") from e
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ApiError(f"Cannot reach the Townsquare API at {self.base_url} ({reason}).") from e

    def thread(self, thread_id: str) -> Json:
        """GET /threads/{id}: the thread with all its posts."""
        return self.request("GET", f"/threads/{_segment(thread_id)}")

    def related(self, thread_id: str, k: int = 5) -> list[Json]:
        """GET /threads/{id}/related: similar threads and resources."""
        return self.request("GET", f"/threads/{_segment(thread_id)}/related", params={"k": k})["hits"]

    def resource(self, resource_id: str) -> Json:
        """GET /resources/{id}: the resource with its text."""
        return self.request("GET", f"/resources/{_segment(resource_id)}")

    def members(self) -> list[Json]:
        """GET /members: the directory, most helpful first."""
        return self.request("GET", "/members")["members"]

    def feedback(self, helpful: bool, answer_id: str, comment: str = "") -> Json:
        """POST /feedback on an answer (needs an API key)."""
        body = {"target": "answer", "helpful": helpful, "answer_id": answer_id, "comment": comment}
        return self.request("POST", "/feedback", body=body)

    def expert_feedback(self, helpful: bool, member_id: str, answer_id: str | None = None) -> Json:
        """POST /feedback on a suggested member, for the answer they were suggested with."""
        body = {"target": "expert", "helpful": helpful, "member_id": member_id, "answer_id": answer_id}
        return self.request("POST", "/feedback", body=body)

    def feedback_summary(self) -> Json:
        """GET /admin/feedback (needs an API key)."""
        return self.request("GET", "/admin/feedback")

    def gaps(self, days: int = 30) -> list[Json]:
        """GET /admin/gaps: weakly answered recent questions, grouped (needs an API key)."""
        return self.request("GET", "/admin/gaps", params={"days": days})["gaps"]


def _answer_events(lines: Iterator[str], url: str) -> Iterator[Json]:
    """The events of an /ask/stream response, until its ``answer``; an ``error`` event or a
    stream that ends first is an :class:`ApiError`."""
    event = ""
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            try:
                data = json.loads(line[5:])
            except ValueError:
                raise ApiError(f"The API at {url} streamed an event that is not JSON.") from None
            if event == "error":
                raise ApiError(f"The API at {url} could not finish the answer: {data.get('detail', '')}.")
            yield {"event": event, **data}
            if event == "answer":
                return
    raise ApiError(f"The API at {url} ended the answer stream before the answer.")


def _segment(doc_id: str) -> str:
    """An id as one URL path segment: ``forum/123`` -> ``forum%2F123`` (the API decodes it)."""
    return quote(doc_id, safe="")


def _detail(response: httpx.Response) -> str:
    """The API's ``detail`` message on one line, else the start of the body."""
    try:
        detail = response.json().get("detail", "")
    except (ValueError, AttributeError):
        detail = response.text
    if not isinstance(detail, str):  # FastAPI validation errors are a list of problems
        detail = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
    return " ".join(str(detail).split())[:300] or response.reason_phrase
