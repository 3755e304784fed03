"""HTML pages: visible text only, headings kept as Markdown so chunks know their section."""

from __future__ import annotations

from collections.abc import Iterator

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from ingest.sources.base import Record, Report, SourceFile, read_text
from ingest.sources.resource_meta import SIDECAR_SUFFIX, ResourceMeta, make_resource, parse_meta, sidecar_meta

DROPPED = ("script", "style", "nav", "header", "footer", "noscript", "template", "form")
HIDDEN = frozenset(("head", "title"))
BLOCKS = frozenset((
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "div", "section",
    "article", "main", "aside", "body", "html", "table", "tr", "ul", "ol", "dl", "figure", "figcaption", "address",
    "details", "summary", "caption", "hr",
))
NOT_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction)


def html_to_markdown(soup: BeautifulSoup) -> str:
    """Every visible text of the page, in order, as Markdown paragraphs.

    Text is cut into paragraphs wherever its enclosing block element changes (so text
    directly inside ``<div>`` or ``<body>`` beside a ``<p>`` is its own paragraph) and at
    ``<br>``. Headings become ``#`` lines and list items ``-`` lines.
    """
    lines: list[str] = []
    block: Tag | None = None
    pieces: list[str] = []

    def flush() -> None:
        text = " ".join("".join(pieces).split())
        if text:
            lines.append(_markdown_line(block, text))
        pieces.clear()

    for node in (soup.body or soup).descendants:
        if isinstance(node, Tag):
            if node.name == "br":
                flush()
            continue
        if not isinstance(node, NavigableString) or isinstance(node, NOT_TEXT):
            continue
        if any(p.name in HIDDEN for p in node.parents):
            continue
        owner = next((p for p in node.parents if p.name in BLOCKS), None)
        if owner is not block:
            flush()
            block = owner
        pieces.append(str(node))
    flush()
    return "\n\n".join(lines) + "\n"


def _markdown_line(block: Tag | None, text: str) -> str:
    name = block.name if block is not None else ""
    if len(name) == 2 and name[0] == "h" and name[1].isdigit():
        return "#" * int(name[1]) + " " + text
    return "- " + text if name == "li" else text


def meta_from_head(soup: BeautifulSoup) -> dict[str, object]:
    """Metadata from ``<meta name=...>`` tags: author, keywords, visibility."""
    found: dict[str, object] = {}
    for tag in soup.find_all("meta"):
        if not isinstance(tag, Tag):
            continue
        name, content = str(tag.get("name", "")).lower(), str(tag.get("content", "")).strip()
        if name == "author" and content:
            found["author"] = content
        elif name == "keywords" and content:
            found["tags"] = [k.strip() for k in content.split(",") if k.strip()]
        elif name == "visibility":  # an empty one is kept, and refused, rather than read as public
            found["visibility"] = content
    return found


class HtmlLoader:
    """Loader for ``.html`` and ``.htm`` files."""

    name = "html"
    claims_trees = False
    streams = False

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        return source.path.suffix.lower() in {".html", ".htm"}

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        soup = BeautifulSoup(read_text(source, report), "html.parser")
        for element in soup.find_all(DROPPED):
            element.decompose()
        sidecar = sidecar_meta(source, report)
        head = parse_meta(meta_from_head(soup), f"{source.rel}: <meta>", report)
        if sidecar is None or head is None:
            return
        if {"visibility"} <= head.model_fields_set & sidecar.model_fields_set and head.visibility != sidecar.visibility:
            report.error(source.rel, f"<meta name=visibility> and {SIDECAR_SUFFIX} disagree; file skipped")
            return
        meta = ResourceMeta.model_validate({**head.model_dump(exclude_unset=True),
                                            **sidecar.model_dump(exclude_unset=True)})
        text = html_to_markdown(soup)
        if not text.strip():
            report.warning(source.rel, "no visible text")
            return
        title = soup.title.get_text(strip=True) if soup.title else None
        yield make_resource(source, text, meta, "markdown", title)
