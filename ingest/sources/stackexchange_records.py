"""Turning staged Stack Exchange rows into threads, posts and accounts.

A question becomes a thread (title, tags, url ``https://SITE/q/ID``); its answers and all
comments become posts in display order: the question, the comments on it, then each answer (by
id, which is time order) followed by its comments. Answers reply to the question, comments to
the post they are on and are marked ``comment`` (their authors are credited as commenters, not
answerers: :func:`retrieval.records.post_role`). ``AcceptedAnswerId`` marks the accepted answer; ``Score`` is the score.
Bodies are HTML, turned into text with inscriptis (paragraphs, lists and code blocks keep their
layout); comment texts are plain text already.

People: a user of the site is the account ``SITE/users/ID`` (also known by the network-wide
``stackexchange.com/users/ACCOUNT`` when Users.xml gives it) named by Users.xml's DisplayName,
else by the row's own display name, else ``userID`` as the site shows it. A post whose owner
was deleted carries only ``OwnerDisplayName``: it becomes the account ``SITE/name/NAME``;
with no name at all, the one account ``SITE/deleted`` named "deleted user".
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

from ingest.sources.base import Account, Record, Report
from ingest.sources.stackexchange_site import parse_tags
from ingest.sources.stackexchange_stage import Stage
from retrieval.records import Post, Thread

log = logging.getLogger(__name__)

SOURCE = "stackexchange"
LINK_TAGS = {1: "linked", 3: "duplicate-of"}
"""PostLinks LinkTypeId -> tag prefix: ``duplicate-of:<thread id>`` on a duplicate question,
``linked:<thread id>`` for a question it links to (see docs/formats.md)."""
HTML_CONFIG = ParserConfig(display_links=False, display_images=False)


@dataclass(frozen=True)
class Site:
    """Where the dump comes from: ``key`` goes into ids, ``host`` ("" when unknown) into urls."""

    key: str
    host: str

    def thread_id(self, question: int) -> str:
        """The id of the thread of ``question``."""
        return f"{SOURCE}:{self.key}:q{question}"


@dataclass
class People:
    """Accounts for post owners, each yielded once per load."""

    stage: Stage
    site: Site
    seen: set[str] = field(default_factory=set)

    def account(self, uid: int | None, shown: str | None) -> Account:
        """The account of a post owner (user id and/or the display name on the row)."""
        shown = (shown or "").strip()
        if uid is not None:
            known = self.stage.user(uid)
            name = (known[0] if known else "") or shown or f"user{uid}"
            handles = [f"{self.site.key}/users/{uid}"]
            if known and known[1] is not None:
                handles.append(f"stackexchange.com/users/{known[1]}")
            return Account(SOURCE, tuple(handles), name)
        if shown:
            return Account(SOURCE, (f"{self.site.key}/name/{shown}",), shown)
        return Account(SOURCE, (f"{self.site.key}/deleted",), "deleted user")

    def new(self, account: Account) -> bool:
        """True the first time ``account`` is seen (it is to be yielded)."""
        if account.member_id in self.seen:
            return False
        self.seen.add(account.member_id)
        return True


def html_text(body: str) -> str:
    """A post body's HTML as text: block layout kept, runs of blank lines collapsed."""
    if not body.strip():
        return ""
    text = get_text(body, HTML_CONFIG)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)


def when(value: str | None) -> datetime | None:
    """A dump date (``2021-04-27T15:06:44.553``, UTC without a zone) or None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def score(value: str | None) -> int:
    """The Score attribute as an int (0 when absent or not a number)."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


def thread_records(question: sqlite3.Row, stage: Stage, site: Site, people: People, where: str,
                   report: Report) -> Iterator[Record]:
    """The thread of ``question`` and the accounts of its authors not yielded before.

    A question without a title is reported as an error at ``where`` and yields nothing.
    """
    title = (question["title"] or "").strip()
    if not title:
        report.error(where, "question without a Title; skipped")
        return
    tid = site.thread_id(question["id"])
    accounts: list[Account] = []
    posts = list(_posts(question, stage, site, people, tid, accounts, where, report))
    yield from (a for a in accounts if people.new(a))
    tags = parse_tags(question["tags"] or "") + tuple(
        f"{LINK_TAGS[kind]}:{site.thread_id(related)}"
        for related, kind in stage.links(question["id"]) if kind in LINK_TAGS and related != question["id"]
    )
    url = f"https://{site.host}/q/{question['id']}" if site.host else ""
    yield Thread(id=tid, source=SOURCE, channel=site.key, title=title, posts=tuple(posts), url=url,
                 tags=tags, origin=where)


def _posts(question: sqlite3.Row, stage: Stage, site: Site, people: People, tid: str,
           accounts: list[Account], where: str, report: Report) -> Iterator[Post]:
    qid = question["id"]
    accepted = question["accepted"]
    found_accepted = False
    for row in [question, *stage.answers(qid)]:
        account = people.account(row["owner"], row["owner_name"])
        accounts.append(account)
        pid = f"{SOURCE}:{site.key}:p{row['id']}"
        is_accepted = row["id"] == accepted and row["id"] != qid
        found_accepted |= is_accepted
        yield Post(
            id=pid, thread_id=tid, author=account.member_id, created_at=when(row["created"]),
            text=html_text(row["body"] or ""), reply_to=None if row["id"] == qid else f"{SOURCE}:{site.key}:p{qid}",
            accepted=is_accepted, score=score(row["score"]),
        )
        for comment in stage.comments(row["id"]):
            commenter = people.account(comment["user"], comment["user_name"])
            accounts.append(commenter)
            yield Post(
                id=f"{SOURCE}:{site.key}:c{comment['id']}", thread_id=tid, author=commenter.member_id,
                created_at=when(comment["created"]), text=(comment["text"] or "").strip(), reply_to=pid,
                score=score(comment["score"]), comment=True,
            )
    if accepted is not None and not found_accepted:
        report.warning(where, f"accepted answer {accepted} is not an answer to this question in the dump")
