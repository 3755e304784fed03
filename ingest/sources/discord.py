"""DiscordChatExporter JSON: one file per channel or thread (see docs/formats.md, "Discord").

A thread file is one thread; a plain channel is cut into conversations
(:mod:`ingest.sources.discord_conversations`). Exports of the same channel lying in the same
folder (overlapping date ranges, or DCE's ``--partition`` parts) are read together, merged by
message id, so each message is kept once and conversations come out as from one complete
export: the first of those files an ingest meets yields the whole channel, the others nothing.

Who may read a channel is not in the export: a guild channel is public unless its
``<file>.meta.yaml`` sidecar names groups; direct messages and private threads are skipped
unless the sidecar sets ``visibility`` explicitly.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path

from ingest.sources.base import Record, Report, SourceFile, ThreadPage, head
from ingest.sources.discord_conversations import GAP, Conversation, Grouper
from ingest.sources.discord_files import (
    SNIFF_BYTES,
    Header,
    channel_files,
    looks_like_export,
    merged_messages,
    read_header,
    read_messages,
)
from ingest.sources.discord_messages import Message
from ingest.sources.resource_meta import SIDECAR_SUFFIX, sidecar_meta
from retrieval.records import PUBLIC, Post, Thread

TITLE_CHARS = 80


class DiscordLoader:
    """Loader for DiscordChatExporter JSON files (detected by ``guild``, ``channel`` and
    ``messages`` at the top level)."""

    name = "discord"
    claims_trees = False
    streams = True

    def __init__(self) -> None:
        self._read: dict[int, set[tuple[Path, ...]]] = {}
        """Per ingest (keyed by its report): the groups of same-channel files already read."""

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        return source.path.is_file() and looks_like_export(head(source.path, SNIFF_BYTES))

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        try:
            header = read_header(source.path)
        except (OSError, ValueError) as e:
            report.error(source.rel, f"not a readable DiscordChatExporter export: {e}; skipped")
            return
        files = [source] if header.is_thread else sorted([source, *channel_files(source, header.channel_id)],
                                                         key=lambda f: f.rel)
        if len(files) > 1 and not self._first_read(files, report):
            return  # another export of this channel already yielded the whole channel in this ingest
        parent = channel_files(source, header.parent_id) if header.is_thread and header.parent_id else []
        visibility = _visibility(files, parent, header, report)
        if visibility is None:
            return
        if header.is_thread:
            messages = read_messages(source, report)
        else:
            messages = merged_messages(files, report)
        yield from _threads(messages, header, source, visibility, report, files[0].rel)

    def _first_read(self, files: list[SourceFile], report: Report) -> bool:
        """True the first time this ingest (its ``report``) meets this group of files."""
        seen = self._read.get(id(report))
        if seen is None:
            seen = self._read[id(report)] = set()
            weakref.finalize(report, self._read.pop, id(report), None)
        key = tuple(f.path.resolve() for f in files)
        if key in seen:
            return False
        seen.add(key)
        return True


def _threads(messages: Iterator[Message], header: Header, source: SourceFile, visibility: tuple[str, ...],
             report: Report, where: str) -> Iterator[Record]:
    """Conversations as thread pages (with their authors' accounts first); ``where`` names the
    channel's first file in problems, so merged exports report each problem once."""

    def missing(message: Message) -> None:
        report.warning(f"{where}:{message.id}",
                       f"reply to message {message.reply_to}, which is not in the export; kept as a plain post")

    grouper = Grouper(header.channel_id, missing, gap=None if header.is_thread else GAP)
    accounts: set[str] = set()
    for message in messages:
        for done in grouper.add(message):
            yield from _records(done, header, source, visibility, accounts)
    for done in grouper.finish():
        yield from _records(done, header, source, visibility, accounts)


def _records(conversation: Conversation, header: Header, source: SourceFile, visibility: tuple[str, ...],
             accounts: set[str]) -> Iterator[Record]:
    for message in conversation.messages:
        if message.account.member_id not in accounts:
            accounts.add(message.account.member_id)
            yield message.account
    yield ThreadPage(to_thread(conversation, header, source, visibility))


def to_thread(conversation: Conversation, header: Header, source: SourceFile, visibility: tuple[str, ...]) -> Thread:
    """The thread of a conversation (or of a whole thread file)."""
    first = conversation.messages[0]
    thread_id = f"discord:{header.channel_id}" if header.is_thread else f"discord:{header.channel_id}:{first.id}"
    posts = tuple(
        Post(id=f"discord:{m.id}", thread_id=thread_id, author=m.account.member_id, created_at=m.created_at,
             text=m.text, reply_to=f"discord:{m.reply_to}" if m.reply_to is not None else None, score=m.score)
        for m in conversation.messages
    )
    guild = header.guild_id if header.guild_id != "0" else "@me"
    url = f"https://discord.com/channels/{guild}/{header.channel_id}"
    return Thread(
        id=thread_id, source="discord", channel=(header.parent if header.is_thread else "") or header.name,
        title=header.name if header.is_thread else _title(first), posts=posts,
        url=url if header.is_thread else f"{url}/{first.id}", visibility=visibility,
        origin=f"{source.rel}:{first.id}",
    )


def _title(message: Message) -> str:
    line = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def _visibility(own: list[SourceFile], parent: list[SourceFile], header: Header,
                report: Report) -> tuple[str, ...] | None:
    """Who may read the channel, from the sidecars that state it: the channel's own files' and,
    for a thread, its parent channel's exports beside it. Stated visibilities must agree; with
    none, public (a direct message or private thread must state its own). None = skip."""
    stated: dict[str, tuple[str, ...]] = {}
    for file in [*own, *parent]:
        meta = sidecar_meta(file, report)
        if meta is None:
            report.error(own[0].rel, f"the sidecar of {file.rel} is invalid, so who may read it is unknown; skipped")
            return None
        if "visibility" in meta.model_fields_set:
            stated[file.rel] = PUBLIC if meta.visibility == "public" else tuple(sorted(set(meta.visibility)))
    if header.is_private and not any(file.rel in stated for file in own):
        report.error(own[0].rel, "a direct-message or private-thread export, and DiscordChatExporter does not "
                     f"record who may read it: set `visibility:` in {own[0].path.name}{SIDECAR_SUFFIX}; skipped")
        return None
    if len(set(stated.values())) > 1:
        report.error(own[0].rel, f"the sidecars of {', '.join(sorted(stated))} disagree on visibility; skipped")
        return None
    return next(iter(stated.values()), PUBLIC)
