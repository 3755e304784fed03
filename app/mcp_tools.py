"""What the MCP tools do, apart from any transport: each takes the caller's groups, asks the
served :class:`~retrieval.library.Library`, and returns a :class:`ToolReply` — readable plain
text (no Markdown marks: :func:`app.plain.plain_text`) with the sources' titles and links and,
for members, why they are suggested, plus the same result as JSON-ready structured content
(the shapes of the HTTP API's responses, so a client can use either).

The caller's groups are decided by the transport (``app/mcp_server.py``); nothing here reads
a key. Every lookup goes through the same visibility rule as the HTTP API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.convert import citation_out, expert_out, hit_out
from app.plain import plain_text, snippet
from app.schemas import MAX_QUESTION_CHARS
from retrieval.answer import Citation, worded
from retrieval.content import get_resource, get_thread
from retrieval.experts import Expert
from retrieval.filters import Filters
from retrieval.library import Library

MAX_K = 50
"""The largest ``k`` a tool accepts (the HTTP API's default ``max_k`` too)."""
SNIPPET = 300
"""Characters of a hit's or post's text shown in the readable reply."""


@dataclass(frozen=True)
class ToolReply:
    """A tool's result: ``text`` for a reader (or a model), ``data`` as structured content."""

    text: str
    data: dict[str, Any]


def _member(expert: Expert) -> str:
    """``Name (id)``, then why they are suggested (their record in numbers) when known."""
    why = expert.why.text() if expert.why else ""
    return f"{expert.name} ({expert.member_id})" + (f": {why}" if why else "")


def _k(k: int, top: int = MAX_K) -> int:
    if not 1 <= k <= top:
        raise ValueError(f"k must be between 1 and {top}, not {k}")
    return k


def _question(text: str) -> str:
    """The question with its whitespace collapsed. Raises ValueError when it is empty or
    longer than the HTTP API takes (:data:`app.schemas.MAX_QUESTION_CHARS`, counted as sent)."""
    if len(text) > MAX_QUESTION_CHARS:
        raise ValueError(f"the question is {len(text):,} characters; at most {MAX_QUESTION_CHARS:,} are taken")
    text = " ".join(text.split())
    if not text:
        raise ValueError("the question is empty")
    return text


def titled(title: str, url: str | None) -> str:
    """``Title — url``, or the title alone when there is no url (a file without one)."""
    return f"{title} — {url}" if url else title


def _sources(citations: list[Citation]) -> list[str]:
    """One line per cited thread or resource, in the order they are first cited, with every
    marker that cites it: ``[1][3] Title — url`` (two posts of a thread, or two sections of a
    resource, are two citations of one source)."""
    markers: dict[tuple[str, str], list[Citation]] = {}
    for citation in citations:
        markers.setdefault((citation.kind, citation.doc_id), []).append(citation)
    return ["".join(f"[{c.n}]" for c in cited) + " " + titled(cited[0].title, cited[0].url)
            for cited in markers.values()]


class Tools:
    """The five tools over the library that ``library()`` returns (looked up per call, so a
    server created before its library is loaded works)."""

    def __init__(self, library: Callable[[], Library]) -> None:
        self._library = library

    def search(self, query: str, k: int, groups: tuple[str, ...]) -> ToolReply:
        """Hybrid search, one hit per thread or resource."""
        hits = self._library().searcher().search(_question(query), k=_k(k), filters=Filters(), groups=groups)
        lines = [f"{n}. {titled(h.title, h.url)}\n   {snippet(h.text, SNIPPET)}" for n, h in enumerate(hits, start=1)]
        text = "\n".join(lines) if lines else "No results."
        return ToolReply(text, {"hits": [hit_out(h).model_dump() for h in hits]})

    def ask(self, question: str, groups: tuple[str, ...], asker: str | None = None) -> ToolReply:
        """A cited answer (or an abstention naming the closest discussions and who to ask,
        never ``asker``)."""
        answer = self._library().ask(_question(question), groups=groups, asker=asker)
        sources = _sources(answer.citations)
        text = plain_text(worded(answer)) + ("\n\nSources:\n" + "\n".join(sources) if sources else "")
        if answer.abstained and answer.closest:
            text += "\n\nClosest discussions:\n" + "\n".join(f"- {titled(h.title, h.url)}" for h in answer.closest)
        if answer.experts:
            text += "\n\nPeople who can help:\n" + "\n".join(f"- {_member(e)}" for e in answer.experts)
        data = {
            "answer": worded(answer), "confidence": round(answer.confidence, 4), "abstained": answer.abstained,
            "citations": [citation_out(c).model_dump() for c in answer.citations],
            "experts": [expert_out(e).model_dump() for e in answer.experts],
            "closest": [hit_out(h).model_dump() for h in answer.closest],
        }
        return ToolReply(text, data)

    def experts(self, question: str, k: int, groups: tuple[str, ...], asker: str | None = None) -> ToolReply:
        """Members who know most about ``question`` other than ``asker``, each with the threads
        where they helped."""
        found = self._library().experts(_question(question), groups=groups, k=_k(k), asker=asker)
        lines = []
        for n, expert in enumerate(found, start=1):
            lines.append(f"{n}. {_member(expert)}")
            lines += [f"   - {e.role}: {titled(e.title, e.url)}" for e in expert.evidence]
        text = "\n".join(lines) if lines else "Nobody stands out for this question."
        return ToolReply(text, {"experts": [expert_out(e).model_dump() for e in found]})

    def get_thread(self, thread_id: str, groups: tuple[str, ...]) -> ToolReply:
        """A whole thread; NotFoundError when missing or not visible to the caller."""
        thread = get_thread(self._library().snapshot().catalog, thread_id, groups)
        lines = [titled(thread["title"], thread["url"])]
        for post in thread["posts"]:
            who = post["author_name"] or post["author"] or "?"
            mark = " (accepted)" if post["accepted"] else ""
            lines.append(f"\n{who}, {(post['created_at'] or '')[:10]}{mark}:\n{plain_text(post['text'])}")
        return ToolReply("\n".join(lines), thread)

    def get_resource(self, resource_id: str, groups: tuple[str, ...]) -> ToolReply:
        """A shared resource with its text; NotFoundError when missing or not visible."""
        resource = get_resource(self._library().snapshot().catalog, resource_id, groups)
        head = titled(resource["title"], resource["url"])
        return ToolReply(f"{head}\n\n{plain_text(resource['text'] or '')}", resource)
