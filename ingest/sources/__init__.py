"""Source loaders, one module per format, and the registry that picks one per source.

Order matters: the first loader whose ``matches`` accepts a source reads it, so loaders that
recognise content (a DiscordChatExporter JSON, a pipermail ``.txt``) come before the generic
ones that go by name (any ``.jsonl``, any ``.txt``).
"""

from __future__ import annotations

from ingest.sources.base import SourceFile, SourceLoader
from ingest.sources.discord import DiscordLoader
from ingest.sources.discourse import DiscourseLoader
from ingest.sources.html import HtmlLoader
from ingest.sources.mail import MailArchiveLoader, MboxLoader
from ingest.sources.markdown import MarkdownLoader
from ingest.sources.members_jsonl import MembersLoader
from ingest.sources.pdf import PdfLoader
from ingest.sources.slack import SlackLoader
from ingest.sources.stackexchange import StackExchangeLoader
from ingest.sources.stackexchange_7z import StackExchange7zLoader
from ingest.sources.text import TextLoader
from ingest.sources.threads_jsonl import ThreadsLoader

# Tree loaders (folders and zips claimed whole) come first, then content-sniffing file
# loaders, then the loaders that go by file name alone.
LOADERS: dict[str, SourceLoader] = {
    loader.name: loader
    for loader in (
        StackExchangeLoader(), SlackLoader(), MailArchiveLoader(),
        StackExchange7zLoader(), DiscordLoader(), DiscourseLoader(), MboxLoader(),
        MembersLoader(), ThreadsLoader(), MarkdownLoader(), TextLoader(), HtmlLoader(), PdfLoader(),
    )
}
"""Every known loader, in matching order."""


class UnknownFormatError(KeyError):
    """A loader name nobody registered; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_loader(name: str) -> SourceLoader:
    """The loader registered as ``name``.

    Raises:
        UnknownFormatError: no loader has that name (the message lists the known ones).
    """
    try:
        return LOADERS[name]
    except KeyError:
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {', '.join(LOADERS)}") from None


def loader_for(source: SourceFile, *, tree: bool = False) -> SourceLoader | None:
    """The first loader that reads ``source`` (a folder or zip when ``tree``), or None."""
    return next(
        (loader for loader in LOADERS.values() if loader.claims_trees == tree and loader.matches(source)), None
    )
