"""A Slack channel's day files turned into threads, one day file at a time.

- A message with replies (``thread_ts`` equal to its own ``ts``) and its replies (``thread_ts``
  pointing at it) form one thread, id ``slack:<channel id>:thread:<thread_ts>``. Replies may
  sit in later day files: each day yields the part it holds as a :class:`ThreadPage`, and the
  pages merge into one thread. A deleted parent (a ``tombstone``) is left out and the thread
  starts with its first reply.
- Messages outside threads (all of them in exports from before Slack had threads) are grouped
  into conversations: a message joins the channel's current conversation when it comes at
  most ``gap`` after the previous such message, else it opens a new one, id
  ``slack:<channel id>:chat:<first ts>``. Conversations run across midnight into the next day
  file. See docs/formats.md for the gap chosen and how it was measured.

Only one day file is held in memory at a time, plus per channel the previous message's time
and the set of thread parents seen (one short string per thread).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from ingest.sources.base import Account, Record, Report, ThreadPage
from ingest.sources.slack_messages import Message, Skip, read_message
from ingest.sources.slack_text import Names
from ingest.sources.slack_workspace import Channel, User, read_list
from ingest.sources.tree import Tree
from retrieval.records import Post, Thread

log = logging.getLogger(__name__)

DEFAULT_GAP = timedelta(minutes=30)
TITLE_CHARS = 90


@dataclass
class Authors:
    """Accounts already yielded in this export, so each author is yielded once."""

    users: dict[str, User]
    seen: set[str] = field(default_factory=set)

    def account(self, message: Message, where: str, report: Report) -> Account | None:
        """The account of ``message``'s author the first time they appear, else None; an
        author missing from ``users.json`` is reported (once) and becomes a member."""
        if message.author in self.seen:
            return None
        self.seen.add(message.author)
        user = self.users.get(message.author)
        if user is not None:
            handles = (user.id, user.username) if user.username else (user.id,)
            return Account("slack", handles, user.name, where)
        if not message.bot:
            report.warning(where, f"user {message.author} is not in users.json; added as a member")
        return Account("slack", (message.author,), message.name or message.author, where)


@dataclass
class ChannelReader:
    """Reads the day files of one channel, oldest first, keeping conversation state between them."""

    channel: Channel
    names: Names
    authors: Authors
    domain: str = ""
    gap: timedelta = DEFAULT_GAP
    last_plain: float | None = None
    conversation: str = ""
    parents: set[str] = field(default_factory=set)

    def read_day(self, tree: Tree, name: str, report: Report, max_bytes: int) -> Iterator[Record]:
        """The accounts and thread pages of one day file; bad messages are reported and skipped."""
        where = f"{tree.label}:{name}"
        messages = []
        for raw in read_list(tree, name, report, max_bytes):
            try:
                message = read_message(raw, self.names)
            except Skip as e:
                report.error(f"{where}:{_ts_label(raw.get('ts'))}", f"{e}; message skipped")
                continue
            if message is not None:
                messages.append(message)
        messages.sort(key=lambda m: float(m.ts))
        for message in messages:
            account = self.authors.account(message, f"{where}:{message.ts}", report)
            if account is not None:
                yield account
        for thread_id, (root, part) in self._group(messages).items():
            yield ThreadPage(self._thread(thread_id, root, part, where))

    def _group(self, messages: list[Message]) -> dict[str, tuple[str, list[Message]]]:
        """Messages by thread id, with the ts the thread is named and linked after."""
        pages: dict[str, tuple[str, list[Message]]] = {}
        for message in messages:
            if message.thread_ts:
                root = message.thread_ts
                thread_id = f"slack:{self.channel.id}:thread:{root}"
                if not message.is_reply:
                    self.parents.add(message.ts)
            else:
                moment = float(message.ts)
                if self.last_plain is None or moment - self.last_plain > self.gap.total_seconds():
                    self.conversation = message.ts
                self.last_plain = moment
                root = self.conversation
                thread_id = f"slack:{self.channel.id}:chat:{root}"
            pages.setdefault(thread_id, (root, []))[1].append(message)
        return pages

    def _thread(self, thread_id: str, root: str, messages: list[Message], where: str) -> Thread:
        posts = tuple(self._post(thread_id, m) for m in messages)
        return Thread(
            id=thread_id, source="slack", channel=self.channel.name, title=title(messages[0].text),
            posts=posts, url=self.permalink(root), visibility=self.channel.visibility, origin=where,
        )

    def _post(self, thread_id: str, message: Message) -> Post:
        parent = message.thread_ts if message.is_reply and message.thread_ts in self.parents else None
        return Post(
            id=self.post_id(message.ts), thread_id=thread_id, author=f"slack:{message.author}",
            created_at=message.when, text=message.text, reply_to=self.post_id(parent) if parent else None,
            score=message.score,
        )

    def post_id(self, ts: str) -> str:
        """The id of the post for the message at ``ts`` in this channel."""
        return f"slack:{self.channel.id}:{ts}"

    def permalink(self, ts: str) -> str:
        """The Slack link to the message at ``ts``, or "" when the workspace's domain is unknown."""
        if not self.domain:
            return ""
        return f"https://{self.domain}.slack.com/archives/{self.channel.id}/p{ts.replace('.', '')}"


def title(text: str) -> str:
    """A thread title from its first message: the first line, cut at a word near ``TITLE_CHARS``."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.-") + "…"


def _ts_label(value: object) -> str:
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else "message"
