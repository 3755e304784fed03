"""Markdown resources, with optional YAML front matter."""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from ingest.sources.base import Record, Report, SourceFile, read_text
from ingest.sources.resource_meta import make_resource, parse_meta

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
FIRST_HEADING = re.compile(r"^#\s+(.+)$", re.MULTILINE)


class MarkdownLoader:
    """Loader for ``.md`` and ``.markdown`` files."""

    name = "markdown"
    claims_trees = False
    streams = False

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        return source.path.suffix.lower() in {".md", ".markdown"}

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        text = read_text(source, report)
        raw_meta = None
        found = FRONT_MATTER.match(text)
        if found:
            try:
                raw_meta = yaml.safe_load(found.group(1))
            except yaml.YAMLError as e:
                report.error(source.rel, f"invalid YAML front matter ({e})")
                return
            text = text[found.end() :]
        meta = parse_meta(raw_meta, f"{source.rel}: front matter", report)
        if meta is None:
            return
        if not text.strip():
            report.warning(source.rel, "empty file")
            return
        heading = FIRST_HEADING.search(text)
        yield make_resource(source, text, meta, "markdown", heading.group(1).strip() if heading else None)
