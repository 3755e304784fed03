"""Community text (Markdown, as members write it) as plain text, for readers that show text as
it is: MCP hosts and agents. Parsed by markdown-it-py (CommonMark, raw HTML kept as text), so
no heading mark, emphasis star or link bracket is left for a reader to decode.

What is kept: every word; headings and paragraphs as lines of their own; list items as
``- item`` or ``3. item`` (nested ones indented); a link as ``its text (url)``; an image as
its alt text; code as it was written. Links of every scheme are treated alike (``javascript:``,
``file:`` or a relative path too: plain text runs nothing), so none is left as raw Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token


class _EveryLink(MarkdownIt):
    """CommonMark that parses a link whatever its URL (markdown-it-py's default refuses
    scripting schemes, which suits HTML output, and leaves such a link as written)."""

    def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it-py's name)
        """Every URL is acceptable: the output is text, shown, never followed by us."""
        return True


_PARSER = _EveryLink("commonmark", {"html": False})


def plain_text(markdown: str) -> str:
    """``markdown`` as plain text: blocks separated by a blank line, list items by a newline."""
    blocks: list[tuple[str, bool]] = []  # (text, is a list item)
    lists: list[bool] = []  # open lists, innermost last: ordered or not
    marker = ""
    for token in _PARSER.parse(markdown):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(token.type == "ordered_list_open")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "list_item_open":
            marker = "  " * (len(lists) - 1) + (f"{token.info}. " if lists[-1] else "- ")
        elif token.type == "inline":
            blocks.append((marker + _inline(token.children or []), bool(lists)))
            marker = ""
        elif token.type in ("fence", "code_block"):
            blocks.append((token.content.rstrip("\n"), bool(lists)))
    text = ""
    for n, (block, in_list) in enumerate(blocks):
        if n:
            text += "\n" if in_list and blocks[n - 1][1] else "\n\n"
        text += block
    return text


def _inline(children: Sequence[Token]) -> str:
    """The words of one paragraph or heading; a link's URL after its text when it differs."""
    parts: list[str] = []
    href: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
        elif child.type == "link_open":
            href.append(str(child.attrGet("href") or ""))
            parts.append("\0")  # where the link's text starts
        elif child.type == "link_close":
            url, start = href.pop(), len(parts) - 1 - parts[::-1].index("\0")
            label = "".join(parts[start + 1:])
            parts[start:] = [label if not url or url in (label, f"mailto:{label}") else f"{label} ({url})"]
    return "".join(parts)


def snippet(markdown: str, limit: int = 300) -> str:
    """The start of ``markdown`` as plain text (:func:`plain_text`) on one line, at most
    ``limit`` characters, ending with "…" when cut."""
    flat = " ".join(plain_text(markdown).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"
