"""Source loaders, one module per format, and the registry that picks one per file."""

from __future__ import annotations

from ingest.sources.base import SourceFile, SourceLoader
from ingest.sources.html import HtmlLoader
from ingest.sources.markdown import MarkdownLoader
from ingest.sources.members_jsonl import MembersLoader
from ingest.sources.pdf import PdfLoader
from ingest.sources.text import TextLoader
from ingest.sources.threads_jsonl import ThreadsLoader

LOADERS: dict[str, SourceLoader] = {
    loader.name: loader
    for loader in (
        MembersLoader(), ThreadsLoader(), MarkdownLoader(), TextLoader(), HtmlLoader(), PdfLoader()
    )
}
"""Every known loader, in matching order (members.jsonl before other JSONL)."""


def get_loader(name: str) -> SourceLoader:
    """The loader registered as ``name``; an unknown name lists the known ones."""
    try:
        return LOADERS[name]
    except KeyError:
        raise KeyError(f"unknown source loader {name!r}; known: {', '.join(LOADERS)}") from None


def loader_for(source: SourceFile) -> SourceLoader | None:
    """The first loader that reads ``source``, or None for an unknown file type."""
    return next((loader for loader in LOADERS.values() if loader.matches(source)), None)
