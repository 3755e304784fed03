"""Reading whole threads, resources and member profiles, always through the visibility rule."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from retrieval.errors import NotFoundError
from retrieval.filters import visible_member_sql, visible_sql


def _visible_document(db: sqlite3.Connection, doc_id: str, kind: str, groups: tuple[str, ...]) -> sqlite3.Row:
    condition, params = visible_sql(groups)
    row = db.execute(
        f"SELECT * FROM documents d WHERE d.id = ? AND d.kind = ? AND {condition}", [doc_id, kind, *params]
    ).fetchone()
    if row is None:  # missing and hidden look the same, so ids of private threads do not leak
        raise NotFoundError(f"no {kind} {doc_id!r}")
    return row


def _document_fields(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"], "title": row["title"], "channel": row["channel"], "url": row["url"],
        "source": row["source"], "tags": json.loads(row["tags"]), "created_at": row["created_at"],
        "visibility": json.loads(row["visibility"]) or "public",
    }


def get_thread(db: sqlite3.Connection, thread_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
    """A thread with its posts (author names joined), if the caller may see it."""
    row = _visible_document(db, thread_id, "thread", groups)
    posts = [
        {**dict(p), "accepted": bool(p["accepted"])}
        for p in db.execute(
            "SELECT p.id, p.author, m.name AS author_name, p.created_at, p.text, p.reply_to, p.accepted, p.score "
            "FROM posts p LEFT JOIN members m ON m.id = p.author WHERE p.doc_id = ? ORDER BY p.position",
            (thread_id,),
        )
    ]
    return {**_document_fields(row), "posts": posts}


def get_resource(db: sqlite3.Connection, resource_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
    """A shared resource with its full text, if the caller may see it."""
    row = _visible_document(db, resource_id, "resource", groups)
    authors = [r[0] for r in db.execute("SELECT member_id FROM authorship WHERE doc_id = ?", (resource_id,))]
    return {**_document_fields(row), "authors": authors, "text": row["body"]}


def member_profile(db: sqlite3.Connection, member_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
    """A member with counts and top channels/tags computed from content the caller may see;
    a member known only from documents the caller may not see is as missing (404)."""
    known, known_params = visible_member_sql(groups)
    member = db.execute(f"SELECT * FROM members m WHERE m.id = ? AND {known}", [member_id, *known_params]).fetchone()
    if member is None:
        raise NotFoundError(f"no member {member_id!r}")
    condition, params = visible_sql(groups)
    visible = f"SELECT a.role, d.id, d.channel, d.tags FROM authorship a JOIN documents d ON d.id = a.doc_id " \
              f"WHERE a.member_id = ? AND {condition}"
    roles: dict[str, int] = {}
    channels: dict[str, int] = {}
    tags: dict[str, int] = {}
    for row in db.execute(visible, [member_id, *params]):
        roles[row["role"]] = roles.get(row["role"], 0) + 1
        if row["role"] in ("answer", "accepted", "author"):
            if row["channel"]:
                channels[row["channel"]] = channels.get(row["channel"], 0) + 1
            for tag in json.loads(row["tags"]):
                tags[tag] = tags.get(tag, 0) + 1
    top = lambda counts: [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]  # noqa: E731
    return {
        "id": member["id"], "name": member["name"], "handles": json.loads(member["handles"]),
        "opt_out": bool(member["opt_out"]),
        "questions": roles.get("question", 0), "answers": roles.get("answer", 0) + roles.get("accepted", 0),
        "accepted_answers": roles.get("accepted", 0), "resources": roles.get("author", 0),
        "top_channels": top(channels), "top_tags": top(tags),
    }


def list_members(db: sqlite3.Connection, groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """The profile of every member the caller may know of, most helpful (answers) first."""
    known, params = visible_member_sql(groups)
    ids = [r[0] for r in db.execute(f"SELECT m.id FROM members m WHERE {known} ORDER BY m.id", params)]
    profiles = [member_profile(db, member_id, groups) for member_id in ids]
    return sorted(profiles, key=lambda p: (-p["accepted_answers"], -p["answers"], p["name"]))
