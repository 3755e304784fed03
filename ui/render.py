"""Small formatting helpers shared by the views: safe Markdown, highlights, dates, metadata."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}#+|~$>])")
ROLE_WORDS = {"accepted": "accepted answer in", "answer": "answered in", "question": "asked in", "author": "wrote",
              "comment": "commented in"}


def esc(text: str) -> str:
    """``text`` shown literally by ``st.markdown`` (HTML and Markdown syntax escaped), line
    breaks kept."""
    escaped = MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))
    return escaped.replace("\n", "  \n")


def marked(text: str) -> str:
    """``text`` escaped and highlighted (render with ``unsafe_allow_html=True``)."""
    return f"<mark>{esc(text)}</mark>" if text.strip() else ""


def highlight(text: str, quote: str, start: int | None = None, end: int | None = None) -> str:
    """``text`` escaped with the cited span highlighted: ``text[start:end]`` when it holds the
    quote, else the quote's first occurrence; unhighlighted when the quote is not there."""
    if start is None or end is None or text[start:end].strip() != quote.strip():
        start = text.find(quote) if quote else -1
        end = start + len(quote)
    if start < 0:
        return esc(text)
    return esc(text[:start]) + marked(text[start:end]) + esc(text[end:])


def window(text: str, start: int, end: int, around: int = 500) -> tuple[str, int, int]:
    """A slice of ``text`` around ``[start, end)``, cut at line breaks where possible; returns
    the slice and the span's offsets within it."""
    lo, hi = max(0, start - around), min(len(text), end + around)
    cut = text.find("\n", lo, start) if lo > 0 else -1  # start on a line boundary
    lo = cut + 1 if cut >= 0 else lo
    cut = text.rfind("\n", end, hi) if hi < len(text) else -1
    hi = cut if cut >= 0 else hi
    prefix, suffix = ("…" if lo > 0 else ""), ("…" if hi < len(text) else "")
    return prefix + text[lo:hi] + suffix, start - lo + len(prefix), end - lo + len(prefix)


def answer_markdown(answer: str) -> str:
    """An answer escaped, its citation markers ``[n]`` in bold."""
    return re.sub(r"\\\[(\d+)\\\]", r"**\\[\1\\]**", esc(answer))


def _formatted(value: str | None, pattern: str, fallback: str) -> str:
    """An ISO date-time in ``pattern``; ``fallback`` when unreadable, empty when missing."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime(pattern)
    except ValueError:
        return fallback


def day(value: str | None) -> str:
    """An ISO date-time as ``25 Sep 2024``; empty when missing, its date part when unreadable."""
    return _formatted(value, "%-d %b %Y", (value or "")[:10])


def moment(value: str | None) -> str:
    """An ISO date-time as ``29 Nov 2026, 00:55 UTC``."""
    return _formatted(value, "%-d %b %Y, %H:%M UTC", value or "")


def meta(*parts: str | None) -> str:
    """Non-empty parts joined by " · "."""
    return " · ".join(p for p in parts if p)


def where(item: dict[str, Any]) -> str:
    """``#channel`` for a thread, "resource" (and its section) for a resource."""
    if item.get("resource_id") or item.get("kind") == "resource":
        return meta("resource", item.get("section") or None)
    return f"#{item['channel']}" if item.get("channel") else "thread"


def link(title: str, url: str | None) -> str:
    """A Markdown link to ``url`` titled ``title`` (plain escaped title without a URL)."""
    return f"[{esc(title)}]({url})" if url else esc(title)


def snippet(text: str, limit: int = 320) -> str:
    """The start of ``text`` on one line (Markdown heading marks dropped), cut at a word."""
    flat = " ".join(re.sub(r"(?m)^#+\s*", "", text).split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"
