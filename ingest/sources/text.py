"""Plain-text resources (``.txt``), metadata from an optional sidecar."""

from __future__ import annotations

from collections.abc import Iterator

from ingest.sources.base import Record, Report, SourceFile, read_text
from ingest.sources.resource_meta import make_resource, sidecar_meta


class TextLoader:
    """Loader for ``.txt`` files."""

    name = "text"
    claims_trees = False
    streams = False

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        return source.path.suffix.lower() == ".txt"

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        text = read_text(source, report)
        meta = sidecar_meta(source, report)
        if meta is None:
            return
        if not text.strip():
            report.warning(source.rel, "empty file")
            return
        first_line = text.strip().splitlines()[0].strip()
        yield make_resource(source, text, meta, "text", first_line[:120] or None)
