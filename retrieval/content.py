"""Reading whole threads, resources and member profiles, always through the visibility rule
(the catalog returns only what the caller's groups may see)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from retrieval.errors import NotFoundError
from retrieval.records import Member
from retrieval.storage import Catalog
from retrieval.views import DocumentInfo

TOP = 5
"""Channels and tags listed per member profile."""


def _visible_document(catalog: Catalog, doc_id: str, kind: str, groups: tuple[str, ...]) -> DocumentInfo:
    doc = catalog.documents([doc_id], groups).get(doc_id)
    if doc is None or doc.kind != kind:  # missing and hidden look the same, so ids of private threads do not leak
        raise NotFoundError(f"no {kind} {doc_id!r}")
    return doc


def _document_fields(doc: DocumentInfo) -> dict[str, Any]:
    return {
        "id": doc.id, "title": doc.title, "channel": doc.channel, "url": doc.url, "source": doc.source,
        "tags": list(doc.tags), "created_at": doc.created_at, "visibility": list(doc.groups) or "public",
    }


def get_thread(catalog: Catalog, thread_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
    """A thread with its posts (author names joined), if the caller may see it."""
    doc = _visible_document(catalog, thread_id, "thread", groups)
    posts = [
        {"id": p.id, "author": p.author, "author_name": p.author_name, "created_at": p.created_at, "text": p.text,
         "reply_to": p.reply_to, "accepted": p.accepted, "score": p.score}
        for p in catalog.posts_of([thread_id], groups)
    ]
    return {**_document_fields(doc), "posts": posts}


def get_resource(catalog: Catalog, resource_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
    """A shared resource with its full text, if the caller may see it."""
    doc = _visible_document(catalog, resource_id, "resource", groups)
    authors = [c.member_id for c in catalog.contributions([resource_id], groups)]
    return {**_document_fields(doc), "authors": authors, "text": doc.body}


def _top(counts: Counter[str]) -> list[str]:
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]


def _profiles(catalog: Catalog, members: list[Member], groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """Profiles of ``members``: counts and top channels/tags from content ``groups`` may see."""
    contributions = catalog.member_contributions([m.id for m in members], groups)
    docs = catalog.documents({c.doc_id for c in contributions}, groups)
    roles = {m.id: Counter[str]() for m in members}
    channels = {m.id: Counter[str]() for m in members}
    tags = {m.id: Counter[str]() for m in members}
    for c in contributions:
        doc = docs.get(c.doc_id)
        if doc is None:
            continue
        roles[c.member_id][c.role] += 1
        if c.role in ("answer", "accepted", "author"):
            if doc.channel:
                channels[c.member_id][doc.channel] += 1
            tags[c.member_id].update(doc.tags)
    return [
        {"id": m.id, "name": m.name, "handles": m.handles, "opt_out": m.opt_out,
         "questions": roles[m.id]["question"], "answers": roles[m.id]["answer"] + roles[m.id]["accepted"],
         "accepted_answers": roles[m.id]["accepted"], "resources": roles[m.id]["author"],
         "top_channels": _top(channels[m.id]), "top_tags": _top(tags[m.id])}
        for m in members
    ]


def member_profile(catalog: Catalog, member_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
    """A member with counts and top channels/tags computed from content the caller may see."""
    member = catalog.members([member_id]).get(member_id)
    if member is None:
        raise NotFoundError(f"no member {member_id!r}")
    return _profiles(catalog, [member], groups)[0]


def list_members(catalog: Catalog, groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every member's profile, most helpful (answers) first."""
    profiles = _profiles(catalog, list(catalog.members().values()), groups)
    return sorted(profiles, key=lambda p: (-p["accepted_answers"], -p["answers"], p["name"]))
