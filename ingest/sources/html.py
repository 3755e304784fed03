"""HTML pages: visible text only, headings kept as Markdown so chunks know their section."""

from __future__ import annotations

from collections.abc import Iterator

from bs4 import BeautifulSoup, Tag

from ingest.sources.base import Record, Report, SourceFile, read_text
from ingest.sources.resource_meta import SIDECAR_SUFFIX, ResourceMeta, make_resource, parse_meta, sidecar_meta

DROPPED = ("script", "style", "nav", "header", "footer", "noscript", "template", "form")
BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd")


def html_to_markdown(soup: BeautifulSoup) -> str:
    """Headings become ``#`` lines, list items ``-`` lines, other blocks paragraphs."""
    body = soup.body or soup
    lines: list[str] = []
    for element in body.find_all(BLOCKS):
        if element.find_parent(BLOCKS):
            continue  # nested block (e.g. <p> in <li>): its text is in the parent's
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text:
            continue
        if element.name[0] == "h":
            lines.append("#" * int(element.name[1]) + " " + text)
        elif element.name == "li":
            lines.append("- " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines) + "\n"


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
