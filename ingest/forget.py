"""Members who asked to be forgotten: their posts are kept out of every later ingest.

``townsquare forget MEMBER --posts`` adds the member id to ``forgotten.json`` in the index
directory (a JSON list of ids). Each ingest reads it and, before anything is checked or
embedded, drops the member's record and every post they wrote (replies to those posts lose
their ``reply_to``; a thread left with no post is dropped), and removes them from resource
authors. The served snapshot changes with the next ingest, not before.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from ingest.sources.base import Record, Report
from retrieval.records import Member, Resource, Thread

FORGOTTEN_FILE = "forgotten.json"


def forgotten_members(index_root: Path) -> set[str]:
    """The member ids listed in ``forgotten.json`` (none when the file is absent)."""
    try:
        return set(json.loads((Path(index_root) / FORGOTTEN_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return set()


def forget_member(index_root: Path, member_id: str) -> None:
    """Add ``member_id`` to ``forgotten.json`` (written whole, then swapped in)."""
    path = Path(index_root) / FORGOTTEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(forgotten_members(index_root) | {member_id}), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def drop_forgotten(records: list[tuple[str, Record]], forgotten: set[str], report: Report) -> list[tuple[str, Record]]:
    """``records`` without the forgotten members, their posts, and their resource authorship."""
    if not forgotten:
        return records
    kept: list[tuple[str, Record]] = []
    dropped = 0
    for where, record in records:
        if isinstance(record, Member) and record.id in forgotten:
            continue
        if isinstance(record, Thread):
            posts = tuple(p for p in record.posts if p.author not in forgotten)
            dropped += len(record.posts) - len(posts)
            gone = {p.id for p in record.posts} - {p.id for p in posts}
            posts = tuple(replace(p, reply_to=None) if p.reply_to in gone else p for p in posts)
            if not posts:
                continue
            record = replace(record, posts=posts)
        elif isinstance(record, Resource):
            record = replace(record, authors=tuple(a for a in record.authors if a not in forgotten))
        kept.append((where, record))
    if dropped:
        report.warning("forgotten.json", f"{dropped} post(s) of forgotten members left out")
    return kept
