"""Small formatting helpers shared by the views: members' Markdown rendered safely, literal
text escaped, highlights, dates, metadata."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt

MARKDOWN = MarkdownIt("commonmark", {"html": False})
"""Members' text is CommonMark. Raw HTML in it is shown as text, never run, and links with
scripting schemes (``javascript:``, ``vbscript:``, ``file:``, ``data:``) are not made links:
markdown-it-py's own safeguards (``html: False``, its ``validateLink``)."""
OPEN, CLOSE = "\ue000", "\ue001"  # private-use marks of a highlighted span while it is rendered
BLOCK_START = re.compile(r"(?:[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d{1,9}[.)][ \t]+|>[ \t]?))*")
"""Markdown block marks at a line's start (heading, list item, quote): a span starting there
opens after them, so the mark does not hide the block from the parser."""
ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
"""Characters CommonMark lets a backslash escape: all ASCII punctuation."""
LINKED_SCHEMES = ("http://", "https://", "mailto:")
"""URLs the page makes links of; any other (``javascript:``, a relative path) is no link."""
ROLE_WORDS = {"accepted": "accepted answer in", "answer": "answered in", "question": "asked in", "author": "wrote",
              "comment": "commented in"}


def esc(text: str) -> str:
    """``text`` shown literally by ``st.markdown``: every ASCII punctuation character is
    backslash-escaped, so no Markdown, HTML or Streamlit mark (``:red[...]``, ``$...$``) takes
    effect; line breaks kept, indentation dropped (it would make a code block).

    No HTML entity is written: Streamlit's renderer turns bare URLs into links (GFM autolink
    literals) whose text is the source as written, so ``&gt;`` just after a URL would show as
    those four characters. A backslash escape there shows as the character it escapes."""
    escaped = ASCII_PUNCTUATION.sub(r"\\\1", re.sub(r"(?m)^[ \t]+", "", text))
    return escaped.replace("\n", "  \n")


def rich(text: str, start: int | None = None, end: int | None = None) -> str:
    """A member's Markdown ``text`` as safe HTML on one line (render with ``st.markdown(...,
    unsafe_allow_html=True)``; no line break, so Streamlit passes it on as one HTML block),
    ``text[start:end]`` highlighted with ``<mark>`` when given. Raw HTML in ``text`` shows as
    text; see :data:`MARKDOWN`."""
    text = text.replace(OPEN, "").replace(CLOSE, "")
    if start is not None and end is not None and 0 <= start < end <= len(text):
        marks = BLOCK_START.match(text, text.rfind("\n", 0, start) + 1)
        if marks and start <= marks.end() < end:
            start = marks.end()
        text = text[:start] + OPEN + text[start:end] + CLOSE + text[end:]
    rendered = MARKDOWN.render(text)
    if rendered.count(OPEN) != text.count(OPEN) or rendered.count(CLOSE) != text.count(CLOSE):
        rendered = MARKDOWN.render(text.replace(OPEN, "").replace(CLOSE, ""))  # the span fell inside a link's URL
    return _marked_runs(rendered).replace(">\n<", "><").strip().replace("\n", "&#10;")


def _marked_runs(rendered: str) -> str:
    """``rendered`` HTML with every text run between :data:`OPEN` and :data:`CLOSE` wrapped in
    ``<mark>``, so the highlight never straddles a tag."""
    out, inside = [], False
    for piece in re.split(r"(<[^>]*>)", rendered):
        if piece.startswith("<"):  # a span edge inside an attribute (an image's alt text)
            for mark in re.findall(f"[{OPEN}{CLOSE}]", piece):
                inside = mark == OPEN
            out.append(re.sub(f"[{OPEN}{CLOSE}]", "", piece))
            continue
        for n, run in enumerate(re.split(f"([{OPEN}{CLOSE}])", piece)):
            if n % 2:
                inside = run == OPEN
            elif run:
                out.append(f"<mark>{run}</mark>" if inside and run.strip() else run)
    return "".join(out)


def highlight(text: str, quote: str, start: int | None = None, end: int | None = None) -> str:
    """A member's Markdown ``text`` as safe HTML (:func:`rich`) with the cited span
    highlighted: ``text[start:end]`` when it holds the quote, else the quote's first
    occurrence; unhighlighted when the quote is not there."""
    if start is None or end is None or text[start:end].strip() != quote.strip():
        start = text.find(quote) if quote else -1
        end = start + len(quote)
    if start < 0:
        return rich(text)
    return rich(text, start, end)


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


def count(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun agreeing with it: ``"1 cited passage"``, ``"3 cited passages"``;
    ``nouns`` is the plural when it is not ``noun + "s"``. (The page's own copy of
    ``retrieval.words.plural``: the page reaches the rest of the code over HTTP only.)"""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


def meta(*parts: str | None) -> str:
    """Non-empty parts joined by " · "."""
    return " · ".join(p for p in parts if p)


def where(item: dict[str, Any]) -> str:
    """``#channel`` for a thread, "resource" (and its section) for a resource."""
    if item.get("resource_id") or item.get("kind") == "resource":
        return meta("resource", item.get("section") or None)
    return f"#{item['channel']}" if item.get("channel") else "thread"


def linkable(url: str | None) -> str | None:
    """``url`` as a Markdown link destination (``<...>``, characters that would end or break it
    percent-encoded) when it is one a page can open: absolute http(s) or mailto. ``None`` for
    anything else: empty, relative, ``javascript:`` and other schemes."""
    url = (url or "").strip()
    if not url.lower().startswith(LINKED_SCHEMES):
        return None
    return "<" + quote(url, safe="!#$%&'()*+,-./:;=?@[]^_`{|}~") + ">"


def link(title: str, url: str | None) -> str:
    """A Markdown link to ``url`` titled ``title``; the plain escaped title when ``url`` is no
    link a page can open (:func:`linkable`), never a link that goes nowhere."""
    target = linkable(url)
    return f"[{esc(title)}]({target})" if target else esc(title)


def snippet(text: str, limit: int = 320) -> str:
    """The start of ``text`` on one line (Markdown heading marks dropped), cut at a word."""
    flat = " ".join(re.sub(r"(?m)^#+\s*", "", text).split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"
