"""One Slack message as we keep it, or the reason it is left out.

Kept: ordinary messages, bot posts (words possibly only in ``attachments``), file shares
(``files[]`` or the legacy ``file``), file comments, ``/me`` messages and thread broadcasts.
Left out: housekeeping (joins, leaves, topic, purpose and name changes, pins, archiving,
bot and reminder notices, huddles), hidden edit/delete events some exports carry, and any
other subtype we don't know. A ``tombstone`` (the placeholder Slack keeps for a deleted
thread parent) is not a post, but its thread still forms from the replies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.sources.slack_text import Names, message_text

KEPT_SUBTYPES = frozenset({
    "", "bot_message", "file_share", "file_comment", "file_mention", "me_message", "thread_broadcast",
})


@dataclass(frozen=True)
class Message:
    """A kept message: when, by whom (``author`` handle, display ``name`` when the message
    says), what it says, its thread (``thread_ts``: its own ts for a parent, "" outside
    threads) and its reactions."""

    ts: str
    when: datetime
    author: str
    name: str
    text: str
    thread_ts: str
    score: int
    bot: bool

    @property
    def is_reply(self) -> bool:
        """True for a reply inside a thread (not the thread's parent)."""
        return bool(self.thread_ts) and self.thread_ts != self.ts


class Skip(Exception):
    """A message we cannot use; the message says why."""


def parse_ts(value: object) -> datetime:
    """A Slack ``ts`` ("1714559400.000100", seconds since 1970) as a UTC datetime.

    Raises:
        Skip: the value is not such a timestamp.
    """
    try:
        seconds = float(value) if isinstance(value, str) else float("nan")
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError) as e:
        raise Skip(f"ts {value!r} is not a Slack timestamp") from e


def read_message(raw: Mapping[str, Any], names: Names) -> Message | None:
    """The message to keep, or None for housekeeping, tombstones and empty messages.

    Raises:
        Skip: a message we should keep is malformed (bad ``ts``, no author).
    """
    subtype = raw.get("subtype") or ""
    if not isinstance(subtype, str) or subtype not in KEPT_SUBTYPES or raw.get("hidden") is True:
        return None
    ts = raw.get("ts")
    when = parse_ts(ts)
    thread_ts = raw.get("thread_ts")
    if thread_ts is not None:
        parse_ts(thread_ts)
    author, name, bot = _author(raw)
    text = message_text(raw, names)
    if not text:
        return None
    return Message(str(ts), when, author, name, text, thread_ts or "", reactions(raw.get("reactions")), bot)


def _author(raw: Mapping[str, Any]) -> tuple[str, str, bool]:
    """(handle, display name as the message shows it, is a bot)."""
    comment = _obj(raw.get("comment"))
    user = _text(raw.get("user")) or _text(comment.get("user"))
    profile = _obj(raw.get("user_profile"))
    shown = next((n for n in (_text(profile.get("display_name")), _text(profile.get("real_name")),
                              _text(profile.get("name"))) if n), "")
    bot_profile = _obj(raw.get("bot_profile"))
    bot_name = _text(raw.get("username")) or _text(bot_profile.get("name"))
    if user and user != "USLACKBOT":
        return user, shown, False
    bot_id = _text(raw.get("bot_id"))
    if bot_id or bot_name:
        return bot_id or bot_name, bot_name or bot_id, True
    if user:
        return user, "Slackbot", True
    raise Skip("message without a user or bot")


def reactions(value: object) -> int:
    """Total reactions: the sum of each reaction's ``count`` (its ``users`` when no count)."""
    total = 0
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            count = item.get("count")
            users = item.get("users")
            if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                total += count
            elif isinstance(users, list):
                total += len(users)
    return total


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
