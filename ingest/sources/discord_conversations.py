"""Grouping a Discord channel's messages into conversations (threads).

A plain channel is one endless stream, so it is cut into conversations:

- a reply joins the conversation of the message it answers, while that conversation is still
  open (it had a message in the last ``horizon``, 7 days by default);
- any other message joins the channel's most recently active conversation when it comes less
  than ``gap`` (30 minutes) after that conversation's last message, else it opens a new one.

Replies keep side conversations together even when they interleave with other talk; the gap
splits a day's chatter into the exchanges people would call "a conversation". Measured in
bench/discord_load.py (figures in docs/benchmarks.md): on a slow, interleaved community
stream, reply links raise completeness from 0.41 (gap alone) to 0.79 with a 1-day horizon and
0.91 with 7 days, at unchanged purity (0.60). A thread file
(a Discord thread) is one conversation whatever the gaps (``gap=None``).

A conversation is identified by its first message, so the same messages give the same
conversations whichever overlapping export they were read from. Memory stays bounded by the
open conversations plus one integer per message seen (to tell a deleted reply target from an
old one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ingest.sources.discord_messages import Message

GAP = timedelta(minutes=30)
HORIZON = timedelta(days=7)


@dataclass
class Conversation:
    """Messages of one conversation, in time order; ``key`` is the first message's id."""

    key: int
    messages: list[Message] = field(default_factory=list)


MissingTarget = Callable[[Message], None]


class Grouper:
    """Feed messages in time order with :meth:`add`; closed conversations come back as they
    close, the rest from :meth:`finish`. ``missing`` is told of replies to messages that are
    not in the export (their reply is then kept as a plain post)."""

    def __init__(self, channel_id: str, missing: MissingTarget, gap: timedelta | None = GAP,
                 horizon: timedelta = HORIZON) -> None:
        self.channel_id = channel_id
        self.missing = missing
        self.gap = gap
        self.horizon = horizon
        self.open: dict[int, Conversation] = {}
        self.owner: dict[int, int] = {}
        self.seen: set[int] = set()
        self.latest: int | None = None
        self.oldest_last: datetime | None = None  # a lower bound of the open conversations' last times

    def add(self, message: Message) -> Iterator[Conversation]:
        """Place ``message``; yields the conversations that closed before it."""
        if self.gap is not None:
            yield from self._close_before(message)
        message = self._resolve_reply(message)
        key = self._conversation_for(message)
        self.open[key].messages.append(message)
        self.owner[message.id] = key
        self.seen.add(message.id)
        self.latest = key

    def finish(self) -> Iterator[Conversation]:
        """The conversations still open, oldest first."""
        yield from self.open.values()
        self.open.clear()
        self.owner.clear()

    def _conversation_for(self, message: Message) -> int:
        if message.reply_to is not None and message.reply_to in self.owner:
            return self.owner[message.reply_to]
        latest = self.open.get(self.latest) if self.latest is not None else None
        if latest is not None and (self.gap is None or message.created_at - latest.messages[-1].created_at <= self.gap):
            return latest.key
        self.open[message.id] = Conversation(message.id)
        return message.id

    def _resolve_reply(self, message: Message) -> Message:
        """Keep ``reply_to`` only when the target is in an open conversation (it then joins it)."""
        target = message.reply_to
        if target is None or target in self.owner:
            return message
        if target not in self.seen and message.reply_channel in (None, self.channel_id):
            self.missing(message)
        return replace(message, reply_to=None)

    def _close_before(self, message: Message) -> Iterator[Conversation]:
        """Close conversations quiet for longer than the horizon; scans only when one can be
        (last times only grow), so a busy channel is not scanned at every message."""
        cutoff = message.created_at - self.horizon
        if self.oldest_last is not None and cutoff <= self.oldest_last:
            return
        for key in [k for k, c in self.open.items() if c.messages[-1].created_at < cutoff]:
            closed = self.open.pop(key)
            for done in closed.messages:
                self.owner.pop(done.id, None)
            yield closed
        self.oldest_last = min((c.messages[-1].created_at for c in self.open.values()), default=message.created_at)
