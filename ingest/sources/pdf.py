"""PDF resources: text extracted page by page with pypdf."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from pypdf import PdfReader
from pypdf.errors import DependencyError, PdfReadError

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
            if reader.is_encrypted and not reader.decrypt(""):
                report.error(source.rel, "encrypted PDF that needs a password; skipped")
                return
            pages = [tidy(page.extract_text() or "") for page in reader.pages]
            title = (reader.metadata.title if reader.metadata else None) or None
        except (PdfReadError, OSError, ValueError, KeyError, DependencyError) as e:
            report.error(source.rel, f"unreadable PDF ({type(e).__name__}: {e}); skipped")
            return
        text = "\n\n".join(p for p in pages if p)
        if not text.strip():
            report.error(source.rel, "PDF has no text layer (scanned?); skipped")
            return
        blank = [str(n) for n, page in enumerate(pages, start=1) if not page]
        if blank:
            report.warning(source.rel, f"page(s) {', '.join(blank[:20])} have no text layer (scanned?); left out")
        yield make_resource(source, text + "\n", meta, "text", title)
