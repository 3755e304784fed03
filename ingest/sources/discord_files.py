"""Reading DiscordChatExporter JSON files piece by piece: the header (guild, channel) and a
stream of messages, and finding the other exports of the same channel beside a file.

Files are never read whole: the header comes from the first events of the JSON stream, the
messages one at a time (ijson), so an export of several hundred MB stays in bounded memory.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import ijson

from ingest.sources.base import Report, SourceFile
from ingest.sources.discord_messages import Message, MessageError, parse_message
from ingest.sources.folder_cache import Files, FolderCache

THREAD_TYPES = {"GuildPublicThread", "GuildPrivateThread", "GuildNewsThread", 10, 11, 12}
PRIVATE_TYPES = {"DirectTextChat", "DirectGroupTextChat", "GuildPrivateThread", 1, 3, 12}
"""Channel kinds known to be private. DCE records no permissions, so for any other channel
nobody can tell from the export who could read it (see docs/formats.md)."""

SNIFF_BYTES = 16384
_KEYS = [re.compile(rb'"%s"\s*:' % key) for key in (b"guild", b"channel", b"messages")]
_JSON_ERRORS = (ijson.JSONError, UnicodeDecodeError, ValueError)


@dataclass(frozen=True)
class Header:
    """The channel an export is of."""

    guild_id: str
    channel_id: str
    name: str
    kind: str | int
    parent: str
    parent_id: str = ""

    @property
    def is_thread(self) -> bool:
        """True for a Discord thread (one thread file = one conversation)."""
        return self.kind in THREAD_TYPES

    @property
    def is_private(self) -> bool:
        """True for direct messages and private threads."""
        return self.kind in PRIVATE_TYPES


def looks_like_export(head: bytes) -> bool:
    """True when ``head`` (the file's start) is a JSON object with DCE's top-level keys."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and all(key.search(text) for key in _KEYS)


def read_header(path: Path) -> Header:
    """The guild and channel of the export at ``path``, read from the start of the stream.

    Raises:
        ValueError: the file is not valid JSON up to ``messages``, or the channel has no id.
    """
    found = _top_level_until_messages(path)
    guild, channel = found.get("guild"), found.get("channel")
    if not isinstance(channel, dict) or not str(channel.get("id") or "").isdigit():
        raise ValueError("channel.id is missing (is this a DiscordChatExporter JSON export?)")
    guild = guild if isinstance(guild, dict) else {}
    kind = channel.get("type")
    return Header(
        guild_id=str(guild.get("id") or "0"), channel_id=str(channel["id"]),
        name=_text(channel.get("name")) or str(channel["id"]),
        kind=kind if isinstance(kind, str | int) and not isinstance(kind, bool) else "",
        parent=_text(channel.get("category")), parent_id=str(channel.get("categoryId") or ""),
    )


def _top_level_until_messages(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    key: str | None = None
    builder = ijson.ObjectBuilder()
    try:
        with path.open("rb") as stream:
            for prefix, event, value in ijson.parse(stream, use_float=True):
                if prefix == "" and event == "map_key":
                    if value == "messages":
                        return found
                    key, builder = value, ijson.ObjectBuilder()
                elif key is not None and prefix.startswith(key):
                    builder.event(event, value)
                    if prefix == key and event not in ("start_map", "start_array", "map_key"):
                        found[key] = builder.value
    except _JSON_ERRORS as e:
        raise ValueError(f"invalid JSON before the messages ({e})") from None
    raise ValueError("no messages list")


def read_messages(source: SourceFile, report: Report) -> Iterator[Message]:
    """The file's messages that carry conversation, in file order; a bad message is reported
    as ``file:message-id`` and skipped, broken JSON ends the stream with an error."""
    count = 0
    try:
        with source.path.open("rb") as stream:
            for count, raw in enumerate(ijson.items(stream, "messages.item", use_float=True), 1):
                try:
                    message = parse_message(raw)
                except MessageError as e:
                    report.error(f"{source.rel}:{_label(raw, count)}", f"{e}; message skipped")
                    continue
                if message is not None:
                    yield message
    except _JSON_ERRORS as e:
        report.error(source.rel, f"invalid JSON after {count} messages ({e}); the rest of the file skipped")


def merged_messages(sources: list[SourceFile], report: Report) -> Iterator[Message]:
    """The messages of several exports of one channel, in id (= time) order, each once."""
    last = -1
    for message in heapq.merge(*(read_messages(s, report) for s in sources), key=lambda m: m.id):
        if message.id < last:
            report.warning(sources[0].rel, f"message {message.id} is out of time order; skipped")
        if message.id > last:
            last = message.id
            yield message


def channel_files(source: SourceFile, channel_id: str) -> list[SourceFile]:
    """The other plain-channel exports of ``channel_id`` in the folder of ``source``."""
    folder = source.path.parent
    rel_dir = PurePosixPath(source.rel).parent
    return [
        SourceFile(folder / name, str(rel_dir / name) if str(rel_dir) != "." else name, source.max_bytes)
        for name, found in _CHANNELS.get(source.path)
        if found == channel_id and name != source.path.name
    ]


def _folder_channels(folder: Path, files: Files) -> list[tuple[str, str]]:
    """(file name, channel id) of every plain-channel export in ``folder``."""
    found = []
    for name, _ in files:
        path = folder / name
        try:
            with path.open("rb") as f:
                if not looks_like_export(f.read(SNIFF_BYTES)):
                    continue
            header = read_header(path)
        except (OSError, ValueError):
            continue
        if not header.is_thread:
            found.append((name, header.channel_id))
    return found


_CHANNELS = FolderCache(_folder_channels)


def _label(raw: Any, number: int) -> str:
    message_id = raw.get("id") if isinstance(raw, dict) else None
    return str(message_id) if isinstance(message_id, str | int) else f"messages[{number - 1}]"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
