"""A tiny community for the storage contract tests, written through the real snapshot writer
with a small deterministic embedder (a fake at the :class:`~retrieval.embedding.Embedder`
Protocol: the contracts are about storage, not about the model).

Every chunk text holds the word "hive", so one lexical query can reach every chunk and the
filter and visibility results can be compared as whole sets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from retrieval.hashing import chunk_id
from retrieval.index import IndexDir
from retrieval.records import Chunk, Document, Member, Post, Resource, Thread
from retrieval.views import ChunkEntry
from retrieval.writer import SnapshotWriter, chunk_entries

DIMENSION = 64
EVERYWHERE = "hive"


class HashingEmbedder:
    """Bag of hashed words, L2-normalised: texts sharing words get similar vectors."""

    model_id, model_name, dimension, max_tokens = "hashing-64", "hashing", DIMENSION, 512

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()) or ["empty"]:
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, digest[0] % DIMENSION] += 1.0 if digest[1] % 2 else -1.0
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def day(text: str) -> datetime:
    """Midnight UTC of an ISO date."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def thread(doc_id: str, channel: str, source: str, tags: tuple[str, ...], groups: tuple[str, ...],
           posts: Sequence[tuple[str, str, str]], title: str) -> Thread:
    """A thread whose ``posts`` are (author, date, text); the second post is accepted."""
    return Thread(doc_id, source, channel, title, tuple(
        Post(f"{doc_id}-p{i}", doc_id, author, day(date), text, None if i == 0 else f"{doc_id}-p0", i == 1, i)
        for i, (author, date, text) in enumerate(posts)
    ), tags=tags, visibility=groups)


MEMBERS = [Member("m01", "Ada"), Member("m02", "Bo"), Member("m03", "Cy"), Member("m04", "Di", opt_out=True)]
DOCUMENTS: list[Document] = [
    thread("t-pub-1", "general", "forum", ("varroa", "winter"), (), [
        ("m01", "2024-03-01", "How do I treat varroa mites in a winter hive?"),
        ("m02", "2024-03-02", "Oxalic acid dribble in the broodless winter hive works."),
        ("m03", "2024-03-05", "Count mites with a sugar roll on every hive first."),
    ], "Varroa in winter"),
    thread("t-pub-2", "harvest", "forum", ("honey",), (), [
        ("m02", "2025-07-01", "When is honey ready to extract from the hive?"),
        ("m01", "2025-07-02", "Capped frames and a refractometer reading under 18 percent in the hive."),
    ], "Ready to extract"),
    thread("t-priv-1", "mentors", "forum", ("lease",), ("mentors",), [
        ("m03", "2025-02-01", "Is the Quarry Lane lease settled for the teaching hive apiary?"),
        ("m01", "2025-02-03", "The Quarry Lane lease renews in March for the hive site."),
    ], "Quarry Lane lease"),
    thread("t-priv-2", "board", "chat", ("budget", "winter"), ("board", "mentors"), [
        ("m04", "2024-11-01", "What is the mentor stipend budget for hive visits?"),
        ("m02", "2024-11-02", "The stipend is paid per hive visit in winter."),
    ], "Mentor stipend"),
    Resource("r-pub", "guides", "Smoker guide", "Light the smoker with pine needles before opening the hive.",
             authors=("m01",), created_at=day("2024-05-01"), tags=("gear",)),
    Resource("r-priv", "guides", "Mentor handbook", "How to run a hive inspection with newcomers, for mentors.",
             authors=("m03",), created_at=day("2025-01-10"), tags=("gear", "lease"), visibility=("mentors",)),
    Resource("r-undated", "guides", "Honey labels", "Honey labels must show the weight; keep the hive records.",
             authors=("m02",), tags=("honey",)),
]
GROUP_SETS: list[tuple[str, ...]] = [(), ("mentors",), ("board",), ("members",), ("board", "members")]


def chunks_of(doc: Document) -> list[Chunk]:
    """One chunk per post (threads) or per resource, its text headed by the title."""
    if isinstance(doc, Thread):
        return [Chunk(chunk_id(doc.id, p.id, 0), doc.id, p.id, 0, "", f"{doc.title}\n{p.text}", p.text, 0,
                      len(p.text), p.author, p.created_at) for p in doc.posts]
    return [Chunk(chunk_id(doc.id, None, 0), doc.id, None, 0, "", f"{doc.title}\n{doc.text}", doc.text, 0,
                  len(doc.text), doc.authors[0] if doc.authors else None, doc.created_at)]


def entries_of(documents: Sequence[Document]) -> list[ChunkEntry]:
    """What the indexes were given for ``documents``."""
    return [e for doc in documents for e in chunk_entries(doc, chunks_of(doc))]


def write(index_dir: IndexDir, documents: Sequence[Document], remove: Sequence[str] = (),
          members: Sequence[Member] = MEMBERS) -> None:
    """One ingest: ``remove`` these ids, put (add or replace) ``documents``, commit."""
    embedder = HashingEmbedder()
    with index_dir.lock(), SnapshotWriter(index_dir, embedder.model_id, embedder.model_name, DIMENSION) as writer:
        writer.delete_documents(list(remove))
        writer.put_members(list(members))
        for doc in documents:
            chunks = chunks_of(doc)
            writer.put_document(doc, f"hash-{doc.id}-{len(chunks)}", "world", chunks,
                                embedder.embed([c.text for c in chunks]))
        writer.commit({"documents": len(documents)})
