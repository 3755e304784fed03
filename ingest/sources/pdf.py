"""PDF resources: text extracted page by page with pypdf."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest.sources.base import Record, Report, SourceFile
from ingest.sources.resource_meta import make_resource, sidecar_meta

logging.getLogger("pypdf").setLevel(logging.ERROR)


def tidy(page_text: str) -> str:
    """Re-join lines broken inside a sentence; keep blank lines as paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", page_text)
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


class PdfLoader:
    """Loader for ``.pdf`` files."""

    name = "pdf"
    claims_trees = False
    streams = False

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        return source.path.suffix.lower() == ".pdf"

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        meta = sidecar_meta(source, report)
        if meta is None:
            return
        try:
            reader = PdfReader(source.path)
            pages = [tidy(page.extract_text() or "") for page in reader.pages]
            title = (reader.metadata.title if reader.metadata else None) or None
        except (PdfReadError, OSError, ValueError, KeyError) as e:
            report.error(source.rel, f"unreadable PDF ({e})")
            return
        text = "\n\n".join(p for p in pages if p)
        if not text.strip():
            report.warning(source.rel, "PDF has no extractable text (scanned?)")
            return
        yield make_resource(source, text + "\n", meta, "text", title)
