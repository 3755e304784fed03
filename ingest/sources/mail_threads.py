"""Rebuilding mailing-list threads from messages, and turning them into records.

A message joins the thread of the nearest ancestor it names (``References`` /
``In-Reply-To``) that is in the archive. When none of them is, the thread is named after the
oldest ancestor it names (``References`` lists the thread's first message first), so a June
reply whose May parent is in another file, or not ingested yet, lands in the same thread id
the May message has: ``mail:<root Message-ID>``. Mail naming no ancestor whose subject reads
as a reply (``Re:``, ``AW:``, ``SV:``, ``Fwd:``... after ``[list-tag]`` prefixes) joins the
latest earlier thread with the same subject within :data:`SUBJECT_WINDOW`; other mail starts
a thread of its own. Thread ids depend only on a message and its ancestors, so new months
never rename old threads, and their messages are merged into them as :class:`ThreadPage`
records (posts deduplicated by ``mail:<Message-ID>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from ingest.sources.base import Account, Record, Report, ThreadPage, account_id
from ingest.sources.mail_parse import Mail
from retrieval.records import Post, Thread

SOURCE = "mail"
SUBJECT_WINDOW = timedelta(days=120)
PREFIX = re.compile(r"^\s*(?:(re|aw|sv|vs|antw|odp|r|fw|fwd|wg|tr|rif)\s*(?:\[\d+\]|\(\d+\))?\s*:|\[[^\]]*\])\s*", re.I)
UNKNOWN_SENDER = "unknown-sender"
EARLIEST = datetime.min.replace(tzinfo=UTC)


def strip_subject(subject: str) -> tuple[str, bool]:
    """``subject`` without reply/forward markers and ``[list-tag]`` prefixes, and whether it
    carried a reply or forward marker."""
    reply = False
    while True:
        found = PREFIX.match(subject)
        if not found or found.end() == 0:
            return " ".join(subject.split()), reply
        reply = reply or found.group(1) is not None
        subject = subject[found.end() :]


def thread_records(mails: Iterable[Mail], visibility: tuple[str, ...], report: Report) -> Iterator[Record]:
    """Accounts of the senders, then one :class:`ThreadPage` per thread of ``mails``."""
    unique = _unique(mails, report)
    ordered = _in_time_order(unique)
    known = {m.message_id: m for m in ordered}
    roots = _roots(ordered, known)
    yield from _accounts(ordered, report)
    groups: dict[str, list[Mail]] = {}
    for mail in ordered:
        groups.setdefault(roots[mail.message_id], []).append(mail)
    for root, group in groups.items():
        yield ThreadPage(_thread(root, group, known, visibility))


def _unique(mails: Iterable[Mail], report: Report) -> list[Mail]:
    seen: dict[str, str] = {}
    unique: list[Mail] = []
    for mail in mails:
        if mail.message_id in seen:
            first = seen[mail.message_id]
            report.warning(mail.where, f"Message-ID <{mail.message_id}> already read at {first}; skipped")
            continue
        seen[mail.message_id] = mail.where
        unique.append(mail)
    return unique


def _in_time_order(mails: list[Mail]) -> list[Mail]:
    """Stable time order; an undated message keeps its place after the one before it."""
    keys: list[datetime] = []
    last = EARLIEST
    for mail in mails:
        last = mail.date or last
        keys.append(last)
    order = sorted(range(len(mails)), key=lambda i: (keys[i], i))
    return [mails[i] for i in order]


def _roots(ordered: list[Mail], known: dict[str, Mail]) -> dict[str, str]:
    roots: dict[str, str] = {}
    by_subject: dict[str, tuple[str, datetime | None]] = {}
    for mail in ordered:
        if mail.message_id not in roots:
            chain, top = _climb(mail, known, roots)
            root = roots.get(top.message_id) or _base_root(top, by_subject)
            for member in chain:
                roots[member.message_id] = root
        subject, _ = strip_subject(mail.subject)
        if subject:
            by_subject[subject.casefold()] = (roots[mail.message_id], mail.date)
    return roots


def _climb(mail: Mail, known: dict[str, Mail], roots: dict[str, str]) -> tuple[list[Mail], Mail]:
    """The messages from ``mail`` up to the highest ancestor in the archive (or the first
    one whose root is already known), and that top message."""
    chain, current, seen = [mail], mail, {mail.message_id}
    while current.message_id not in roots:
        parent = next((known[a] for a in reversed(current.ancestors) if a in known and a not in seen), None)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.message_id)
        current = parent
    return chain, current


def _base_root(top: Mail, by_subject: dict[str, tuple[str, datetime | None]]) -> str:
    if top.ancestors:
        return top.ancestors[0]
    subject, reply = strip_subject(top.subject)
    earlier = by_subject.get(subject.casefold()) if reply and subject else None
    if earlier is not None:
        root, when = earlier
        if when is None or top.date is None or timedelta(0) <= top.date - when <= SUBJECT_WINDOW:
            return root
    return top.message_id


def _accounts(mails: list[Mail], report: Report) -> Iterator[Account]:
    """One account per address, named by its first non-empty display name (else the address)."""
    names: dict[str, tuple[str, str]] = {}
    for mail in mails:
        handle = mail.address or UNKNOWN_SENDER
        if not mail.address:
            report.warning(mail.where, "no readable sender address; posted as an unknown sender")
        if handle not in names or not names[handle][0]:
            names[handle] = (mail.name if mail.address else "Unknown sender", mail.where)
    for handle, (name, where) in names.items():
        yield Account(source=SOURCE, handles=(handle,), name=name or handle, origin=where)


def _thread(root: str, group: list[Mail], known: dict[str, Mail], visibility: tuple[str, ...]) -> Thread:
    thread_id = f"{SOURCE}:{root}"
    members = {m.message_id for m in group}
    opener = known.get(root, group[0])
    title = strip_subject(opener.subject)[0] or next(
        (s for s in (strip_subject(m.subject)[0] for m in group) if s), "(no subject)"
    )
    posts = tuple(
        Post(
            id=f"{SOURCE}:{m.message_id}", thread_id=thread_id,
            author=account_id(SOURCE, m.address or UNKNOWN_SENDER), created_at=m.date, text=m.text,
            reply_to=next((f"{SOURCE}:{a}" for a in reversed(m.ancestors) if a in members), None),
            unembedded=m.unembedded,
        )
        for m in group
    )
    return Thread(
        id=thread_id, source=SOURCE, channel=group[0].list_id, title=title, posts=posts,
        visibility=visibility, origin=group[0].where,
    )
