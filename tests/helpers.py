"""Small builders of test data: native-format input files, and catalogs written through the
real snapshot writer."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index import IndexDir, Snapshot
from retrieval.records import Member, Post, Thread, parse_iso
from retrieval.storage import Catalog
from retrieval.writer import SnapshotWriter


def thread_line(thread_id: str, title: str, texts: list[str], channel: str = "general",
                visibility: object = "public", authors: list[str] | None = None) -> str:
    """One native threads-JSONL line with a post per text."""
    authors = authors or ["m01", "m02"]
    posts = [
        {"id": f"{thread_id}-p{i + 1}", "author": authors[i % len(authors)],
         "created_at": f"2025-0{1 + i % 9}-10T10:00:00Z", "text": text,
         "reply_to": None if i == 0 else f"{thread_id}-p1", "accepted": i == 1, "score": i}
        for i, text in enumerate(texts)
    ]
    return json.dumps({"id": thread_id, "title": title, "channel": channel, "url": "", "tags": ["t"],
                       "visibility": visibility, "posts": posts})


def write_small_corpus(folder: Path) -> Path:
    """A tiny valid corpus: two members, three threads, one Markdown guide."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "members.jsonl").write_text(
        json.dumps({"id": "m01", "name": "Ada", "handles": {}, "opt_out": False}) + "\n"
        + json.dumps({"id": "m02", "name": "Bo", "handles": {}, "opt_out": True}) + "\n"
    )
    (folder / "threads.jsonl").write_text("\n".join([
        thread_line("a-1", "Which smoker fuel burns longest?", ["Which fuel?", "Dry pine needles and burlap."]),
        thread_line("a-2", "Foundation or foundationless frames", ["Any advice?", "Start with a starter strip."]),
        thread_line("a-3", "Labels for market honey", ["What must a label show?", "Net weight and your address."]),
    ]) + "\n")
    (folder / "guide.md").write_text(
        "---\ntitle: Smoker guide\nauthor: m01\ntags: [gear]\n---\n# Smoker guide\n\n"
        "## Lighting\n\nLight newspaper first, then add pine needles.\n\n## Fuel\n\nBurlap smoulders slowly.\n"
    )
    return folder


def private_ids(catalog: Catalog, group: str = "mentors") -> set[str]:
    """Ids of the documents only members of ``group`` may see."""
    def ids(groups: tuple[str, ...]) -> set[str]:
        return {d.id for kind in ("thread", "resource") for d in catalog.list_documents(kind, groups)}

    return ids((group,)) - ids(())


class Community:
    """Threads and members written through the real :class:`SnapshotWriter` (no chunks, so no
    model): for fast tests of logic that reads the catalog. ``catalog()`` commits what was
    added since the last call as a new snapshot and opens it."""

    def __init__(self, root: Path) -> None:
        self.index_dir = IndexDir(root)
        self.members: list[Member] = []
        self.threads: dict[str, Thread] = {}
        self._changed: set[str] = set()
        self._open: Snapshot | None = None

    def add_post(self, doc_id: str, author: str, role: str, created_at: str | None, score: int = 0,
                 group: str | None = None) -> None:
        """Add a post of ``role`` (question, answer, accepted, comment) to thread ``doc_id`` (created,
        public unless ``group`` is given, on first use). A thread whose first post is not a
        question opens with an undated question by ``m00``, who is not a member."""
        thread = self.threads.get(doc_id) or Thread(doc_id, "test", "general", f"Title {doc_id}", (),
                                                    visibility=(group,) if group else ())
        posts = list(thread.posts)
        if not posts and role != "question":
            posts.append(Post(f"{doc_id}-q", doc_id, "m00", None, "..."))
        moment = parse_iso(created_at) if created_at else None
        posts.append(Post(f"{doc_id}-{author}-{role}", doc_id, author, moment, "...", accepted=role == "accepted",
                          score=score, comment=role == "comment"))
        self.threads[doc_id] = replace(thread, posts=tuple(posts))
        self._changed.add(doc_id)

    def catalog(self) -> Catalog:
        """The catalog of a snapshot holding everything added so far."""
        if self._open is None or self._changed:
            with self.index_dir.lock(), SnapshotWriter(self.index_dir, "test-model", "test", 8) as writer:
                writer.put_members(self.members)
                for doc_id in sorted(self._changed):
                    writer.put_document(self.threads[doc_id], "h", "test", [], np.zeros((0, 8), np.float32))
                writer.commit({})
            self._changed.clear()
            if self._open is not None:
                self._open.close()
            self._open = self.index_dir.open("test-model")
        return self._open.catalog


def stored_posts(snapshot: Any, groups: tuple[str, ...] = ()) -> list[Any]:
    """Every post of the snapshot's documents that ``groups`` may see (``PostInfo`` records),
    read through the catalog as the features read them."""
    catalog = snapshot.catalog
    return list(catalog.posts_of(list(catalog.document_hashes()), groups))


def stored_chunk_bodies(snapshot: Any, groups: tuple[str, ...] = ()) -> list[str]:
    """The body of every chunk ``groups`` may see (the text without its context header)."""
    catalog = snapshot.catalog
    ids = [i for chunk_ids in catalog.chunk_ids(list(catalog.document_hashes()), groups).values() for i in chunk_ids]
    return [info.body for info in catalog.chunks(ids, groups).values()]
