"""The "start here" overview for newcomers, computed from one snapshot for what a caller may see:
the most discussed topics (k-means clusters of threads, labelled by their most distinctive
tags), the best-received answered threads, the shared resources, who to ask about what, and
the channels and tags in use (facets for filters).
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from retrieval.clustering import spherical_kmeans
from retrieval.index import Snapshot
from retrieval.storage import Catalog
from retrieval.words import STOPWORDS

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


def visible_threads(catalog: Catalog, groups: tuple[str, ...], limit: int = MAX_THREADS) -> list[ThreadSummary]:
    """The most recent threads ``groups`` may see, with post counts and summed post scores."""
    return [ThreadSummary(t.id, t.title, t.channel, t.url, t.created_at, list(t.tags), t.posts, t.score)
            for t in catalog.thread_stats(groups, limit)]


def thread_vectors(snapshot: Snapshot, thread_ids: list[str], groups: tuple[str, ...]) -> np.ndarray:
    """One unit vector per thread: the normalised mean of its chunk vectors."""
    chunks = snapshot.catalog.chunk_ids(thread_ids, groups)
    out = np.zeros((len(thread_ids), snapshot.vectors.dimension), dtype=np.float32)
    for row, doc_id in enumerate(thread_ids):
        if chunks.get(doc_id):
            out[row] = snapshot.vectors.vectors(chunks[doc_id]).mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def cluster(vectors: np.ndarray, k: int, seed: int = 7) -> np.ndarray:
    """Spherical k-means assignments (one cluster number per row), deterministic for a seed."""
    if k <= 1 or len(vectors) <= k:
        return np.zeros(len(vectors), dtype=np.int64) if k <= 1 else np.arange(len(vectors))
    return spherical_kmeans(vectors, k, seed)


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


def topic_people(
    catalog: Catalog, thread_ids: list[str], groups: tuple[str, ...], limit: int = 3,
) -> list[dict[str, Any]]:
    """Members who answered most in these threads (accepted answers count double); opted-out
    members are left out."""
    scores: dict[str, float] = {}
    for c in catalog.contributions(thread_ids, groups):
        if c.role in ANSWER_WEIGHT:
            scores[c.member_id] = scores.get(c.member_id, 0.0) + ANSWER_WEIGHT[c.role]
    members = {m.id: m for m in catalog.members(list(scores)).values() if not m.opt_out}
    ranked = sorted(members, key=lambda m: (-scores[m], members[m].name))[:limit]
    return [{"member_id": m, "name": members[m].name, "answers": scores[m]} for m in ranked]


def topics(
    snapshot: Snapshot, threads: list[ThreadSummary], groups: tuple[str, ...] = (), k: int | None = None,
) -> list[Topic]:
    """Threads clustered into about :func:`topic_count` topics, most discussed (posts) first;
    each lists its most representative threads (nearest its centre) first."""
    if not threads:
        return []
    vectors = thread_vectors(snapshot, [t.id for t in threads], groups)
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
                           topic_people(snapshot.catalog, [t.id for t in members], groups)))
    return sorted(found, key=lambda t: (-t.post_count, t.label))


def best_threads(
    catalog: Catalog, threads: list[ThreadSummary], groups: tuple[str, ...], limit: int = 8,
) -> list[ThreadSummary]:
    """Answered threads whose accepted answer was best received (post score), then busiest."""
    by_id = {t.id: t for t in threads}
    answered = [
        replace(by_id[p.doc_id], answered_by=p.author_name, answer_score=p.score)
        for p in catalog.posts_of(list(by_id), groups) if p.accepted
    ]
    return sorted(answered, key=lambda t: (-t.answer_score, -t.score, t.title))[:limit]


def resources(catalog: Catalog, groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """The shared resources ``groups`` may see, with their authors' names, by title."""
    docs = catalog.list_documents("resource", groups)
    authors: dict[str, list[str]] = {}
    for c in catalog.contributions([d.id for d in docs], groups):
        authors.setdefault(c.doc_id, []).append(c.member_id)
    names = {m.id: m.name for m in catalog.members({a for ids in authors.values() for a in ids}).values()}
    return [
        {"id": d.id, "title": d.title, "url": d.url, "tags": list(d.tags), "created_at": d.created_at,
         "authors": ", ".join(names[a] for a in authors.get(d.id, []) if a in names)}
        for d in docs
    ]


def facets(catalog: Catalog, groups: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Channels and tags of visible documents, with document counts, most used first."""
    return {name: [{"value": value, "count": count} for value, count in found]
            for name, found in catalog.facets(groups).items()}


def build_overview(snapshot: Snapshot, groups: tuple[str, ...] = ()) -> Overview:
    """The overview of ``snapshot`` as members of ``groups`` may see it."""
    threads = visible_threads(snapshot.catalog, groups)
    return Overview(
        snapshot=snapshot.name, topics=topics(snapshot, threads, groups),
        best_threads=best_threads(snapshot.catalog, threads, groups),
        resources=resources(snapshot.catalog, groups), facets=facets(snapshot.catalog, groups),
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
