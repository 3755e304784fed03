"""The "start here" overview for newcomers, computed from one snapshot for what a caller may see:
the most discussed topics (k-means clusters of threads, labelled by their most distinctive
tags), the best-received answered threads, the shared resources, who to ask about what, and
the channels and tags in use (facets for filters).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import faiss
import numpy as np

from retrieval.filters import visible_sql
from retrieval.index import Snapshot
from retrieval.search import STOPWORDS

MAX_THREADS = 5000
"""Only the most recent visible threads are clustered (reconstructing vectors is linear)."""
MAX_TOPICS = 8
ANSWER_WEIGHT = {"accepted": 2.0, "answer": 1.0}


@dataclass
class ThreadSummary:
    """A thread as listed on the overview."""

    id: str
    title: str
    channel: str
    url: str
    created_at: str | None
    tags: list[str]
    posts: int
    score: int
    answered_by: str | None = None
    answer_score: int = 0


@dataclass
class Topic:
    """A cluster of similar threads with a label and the members who answered most in it."""

    label: str
    tags: list[str]
    thread_count: int
    post_count: int
    threads: list[ThreadSummary]
    people: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Overview:
    """Everything the "start here" view shows."""

    snapshot: str
    topics: list[Topic]
    best_threads: list[ThreadSummary]
    resources: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


THREADS_SQL = """
SELECT d.id, d.title, d.channel, d.url, d.created_at, d.tags,
       count(p.id) AS posts, coalesce(sum(p.score), 0) AS score
FROM documents d JOIN posts p ON p.doc_id = d.id
WHERE d.kind = 'thread' AND {visible}
GROUP BY d.id ORDER BY d.created_at DESC LIMIT ?
"""


def visible_threads(db: sqlite3.Connection, groups: tuple[str, ...], limit: int = MAX_THREADS) -> list[ThreadSummary]:
    """The most recent threads ``groups`` may see, with post counts and summed post scores."""
    condition, params = visible_sql(groups)
    rows = db.execute(THREADS_SQL.format(visible=condition), [*params, limit])
    return [
        ThreadSummary(r["id"], r["title"], r["channel"], r["url"], r["created_at"], json.loads(r["tags"]),
                      int(r["posts"]), int(r["score"]))
        for r in rows
    ]


def thread_vectors(snapshot: Snapshot, thread_ids: list[str]) -> np.ndarray:
    """One unit vector per thread: the normalised mean of its chunk vectors."""
    chunks: dict[str, list[int]] = {doc_id: [] for doc_id in thread_ids}
    for doc_id, chunk_id in snapshot.db.execute("SELECT doc_id, id FROM chunks WHERE doc_id IN "
                                                "(SELECT id FROM documents WHERE kind = 'thread')"):
        if doc_id in chunks:
            chunks[doc_id].append(chunk_id)
    out = np.zeros((len(thread_ids), snapshot.vectors.dimension), dtype=np.float32)
    for row, doc_id in enumerate(thread_ids):
        if chunks[doc_id]:
            out[row] = snapshot.vectors.reconstruct(np.array(chunks[doc_id], dtype=np.int64)).mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def cluster(vectors: np.ndarray, k: int, seed: int = 7) -> np.ndarray:
    """Spherical k-means assignments (one cluster number per row), deterministic for a seed."""
    if k <= 1 or len(vectors) <= k:
        return np.zeros(len(vectors), dtype=np.int64) if k <= 1 else np.arange(len(vectors))
    kmeans = faiss.Kmeans(vectors.shape[1], k, niter=25, nredo=3, seed=seed, spherical=True, verbose=False,
                          min_points_per_centroid=1)
    kmeans.train(np.ascontiguousarray(vectors))
    _, assigned = kmeans.index.search(np.ascontiguousarray(vectors), 1)
    return assigned[:, 0]


def topic_count(n_threads: int) -> int:
    """About sqrt(n/2) topics, between 1 and :data:`MAX_TOPICS`."""
    return max(1, min(MAX_TOPICS, round((n_threads / 2) ** 0.5)))


def label_topic(ordered: list[ThreadSummary], tag_totals: Counter[str]) -> tuple[str, list[str]]:
    """A label for a cluster whose threads are ``ordered`` most central first: the most
    distinctive tags (frequent here, rare elsewhere) shared by its central half, else by the
    whole cluster, else its most frequent title words."""
    for group in (ordered[: max(3, (len(ordered) + 1) // 2)], ordered):
        counts = Counter(tag for t in group for tag in t.tags)
        ranked = sorted(counts, key=lambda tag: (-(counts[tag] ** 2) / tag_totals[tag], tag))
        tags = [tag for tag in ranked if counts[tag] >= min(2, len(group))][:3]
        if tags:
            return ", ".join(tag.replace("-", " ") for tag in tags), tags
    words = Counter(w for t in ordered for w in set(re.findall(r"[a-z]{3,}", t.title.lower())) if w not in STOPWORDS)
    return ", ".join(w for w, _ in words.most_common(3)) or "other", []


def topic_people(db: sqlite3.Connection, thread_ids: list[str], limit: int = 3) -> list[dict[str, Any]]:
    """Members who answered most in these threads (accepted answers count double); opted-out
    members are left out."""
    marks = ",".join("?" * len(thread_ids))
    rows = db.execute(
        f"SELECT a.member_id, m.name, a.role FROM authorship a JOIN members m ON m.id = a.member_id "
        f"WHERE a.doc_id IN ({marks}) AND a.role IN ('answer', 'accepted') AND m.opt_out = 0", thread_ids
    )
    scores: dict[str, float] = {}
    names: dict[str, str] = {}
    for row in rows:
        scores[row["member_id"]] = scores.get(row["member_id"], 0.0) + ANSWER_WEIGHT[row["role"]]
        names[row["member_id"]] = row["name"]
    ranked = sorted(scores, key=lambda m: (-scores[m], names[m]))[:limit]
    return [{"member_id": m, "name": names[m], "answers": scores[m]} for m in ranked]


def topics(snapshot: Snapshot, threads: list[ThreadSummary], k: int | None = None) -> list[Topic]:
    """Threads clustered into about :func:`topic_count` topics, most discussed (posts) first;
    each lists its most representative threads (nearest its centre) first."""
    if not threads:
        return []
    vectors = thread_vectors(snapshot, [t.id for t in threads])
    assigned = cluster(vectors, k or topic_count(len(threads)))
    tag_totals = Counter(tag for t in threads for tag in t.tags)
    found = []
    for number in sorted(set(assigned.tolist())):
        rows = np.flatnonzero(assigned == number)
        members = [threads[i] for i in rows]
        closeness = vectors[rows] @ vectors[rows].mean(axis=0)
        top = [members[i] for i in np.argsort(-closeness, kind="stable")]
        label, tags = label_topic(top, tag_totals)
        found.append(Topic(label, tags, len(members), sum(t.posts for t in members), top[:4],
                           topic_people(snapshot.db, [t.id for t in members])))
    return sorted(found, key=lambda t: (-t.post_count, t.label))


def best_threads(db: sqlite3.Connection, threads: list[ThreadSummary], limit: int = 8) -> list[ThreadSummary]:
    """Answered threads whose accepted answer was best received (post score), then busiest."""
    by_id = {t.id: t for t in threads}
    rows = db.execute(
        "SELECT p.doc_id, p.score, m.name FROM posts p LEFT JOIN members m ON m.id = p.author WHERE p.accepted = 1"
    )
    answered = []
    for row in rows:
        thread = by_id.get(row["doc_id"])
        if thread is not None:
            answered.append(replace(thread, answered_by=row["name"], answer_score=int(row["score"])))
    return sorted(answered, key=lambda t: (-t.answer_score, -t.score, t.title))[:limit]


def resources(db: sqlite3.Connection, groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """The shared resources ``groups`` may see, with their authors' names, by title."""
    condition, params = visible_sql(groups)
    rows = db.execute(
        f"SELECT d.id, d.title, d.url, d.tags, d.created_at, group_concat(m.name, ', ') AS authors "
        f"FROM documents d LEFT JOIN authorship a ON a.doc_id = d.id LEFT JOIN members m ON m.id = a.member_id "
        f"WHERE d.kind = 'resource' AND {condition} GROUP BY d.id ORDER BY d.title",
        params,
    )
    return [{**dict(r), "tags": json.loads(r["tags"]), "authors": r["authors"] or ""} for r in rows]


def facets(db: sqlite3.Connection, groups: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Channels and tags of visible documents, with document counts, most used first."""
    condition, params = visible_sql(groups)
    channels = db.execute(
        f"SELECT d.channel AS value, count(*) AS count FROM documents d WHERE d.channel != '' AND {condition} "
        f"GROUP BY d.channel ORDER BY count DESC, value", params,
    )
    tags = db.execute(
        f"SELECT t.tag AS value, count(*) AS count FROM doc_tags t JOIN documents d ON d.id = t.doc_id "
        f"WHERE {condition} GROUP BY t.tag ORDER BY count DESC, value", params,
    )
    return {"channels": [dict(r) for r in channels], "tags": [dict(r) for r in tags]}


def build_overview(snapshot: Snapshot, groups: tuple[str, ...] = ()) -> Overview:
    """The overview of ``snapshot`` as members of ``groups`` may see it."""
    threads = visible_threads(snapshot.db, groups)
    return Overview(
        snapshot=snapshot.name, topics=topics(snapshot, threads), best_threads=best_threads(snapshot.db, threads),
        resources=resources(snapshot.db, groups), facets=facets(snapshot.db, groups),
    )


class OverviewCache:
    """Overviews keyed by (snapshot, groups): computed once, dropped least recently used."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, tuple[str, ...]], Overview] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, snapshot: Snapshot, groups: tuple[str, ...] = ()) -> Overview:
        """The cached overview, built on first request."""
        key = (str(snapshot.path), groups)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        overview = build_overview(snapshot, groups)
        with self._lock:
            self._items[key] = overview
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return overview
