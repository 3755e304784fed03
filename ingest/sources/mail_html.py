"""HTML mail bodies as plain text, parsed with BeautifulSoup.

Block elements become line breaks and ``<blockquote>`` content becomes ``> `` lines, so the
quote detection of :mod:`ingest.sources.mail_quotes` treats an HTML reply like a plain one.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

SKIPPED = {"script", "style", "head", "title", "template"}
BLOCKS = {
    "p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "dl", "dt", "dd",
    "section", "article", "header", "footer",
}
SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
BLANKS = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail body: paragraphs and line breaks kept, quotes as ``> ``."""
    soup = BeautifulSoup(html, "html.parser")
    try:
        text = _render(soup)
    except RecursionError:  # absurdly deep markup: flat text is still better than nothing
        text = soup.get_text("\n")
    lines = [SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return BLANKS.sub("\n\n", "\n".join(lines)).strip() + "\n"


def _render(node: Tag) -> str:
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            parts.append(SPACES.sub(" ", str(child).replace("\n", " ")))
        elif isinstance(child, Tag) and child.name not in SKIPPED:
            parts.append(_render_tag(child))
    return "".join(parts)


def _render_tag(tag: Tag) -> str:
    if tag.name == "br":
        return "\n"
    if tag.name == "blockquote":
        inner = BLANKS.sub("\n\n", _render(tag)).strip("\n")
        return "\n" + "\n".join("> " + line.strip() for line in inner.split("\n")) + "\n\n"
    if tag.name == "pre":
        return "\n" + tag.get_text() + "\n"
    if tag.name in BLOCKS:
        return "\n" + _render(tag) + "\n"
    return _render(tag)
