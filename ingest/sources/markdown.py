"""Markdown resources, with optional YAML front matter."""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from ingest.sources.base import Record, Report, SourceFile, read_text
from ingest.sources.front_matter import FrontMatterError, load_yaml, split_front_matter
from ingest.sources.resource_meta import (
    SIDECAR_SUFFIX,
    ResourceMeta,
    has_sidecar,
    make_resource,
    parse_meta,
    sidecar_meta,
)

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
        """See :class:`ingest.sources.base.SourceLoader`. Metadata comes from front matter or
        a ``.meta.yaml`` sidecar, not both; anything unclear skips the file with an error."""
        try:
            raw_yaml, text = split_front_matter(read_text(source, report))
        except FrontMatterError as e:
            report.error(f"{source.rel}:{e.line}", f"{e}; file skipped")
            return
        meta = self._meta(source, raw_yaml, report)
        if meta is None:
            return
        if not text.strip():
            report.warning(source.rel, "empty file")
            return
        heading = FIRST_HEADING.search(text)
        yield make_resource(source, text, meta, "markdown", heading.group(1).strip() if heading else None)

    def _meta(self, source: SourceFile, raw_yaml: str | None, report: Report) -> ResourceMeta | None:
        if has_sidecar(source):
            if raw_yaml is not None:
                report.error(source.rel, f"metadata in both front matter and {SIDECAR_SUFFIX}; keep one")
                return None
            return sidecar_meta(source, report)
        if raw_yaml is None:
            return ResourceMeta()
        try:
            raw_meta = load_yaml(raw_yaml)
        except yaml.YAMLError as e:
            report.error(source.rel, f"invalid YAML front matter ({' '.join(str(e).split())}); file skipped")
            return None
        return parse_meta(raw_meta, f"{source.rel}: front matter", report)
