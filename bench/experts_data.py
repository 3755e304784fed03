"""Expert-finding tasks for bench/experts.py: three dev communities, their splits, and the
candidate features each question yields through the real ingest + search + feature code.

- ``cardano``: ``stackexchange-cardano`` split by time at the date by which 50/70/85% of the
  questions had been asked; only answers written before the cut are indexed, with the
  comments (``dump/Comments.xml``) written before the cut on the indexed posts, as comment
  posts (role ``comment``, as the product's Stack Exchange loader stores them); each later
  question is asked at its own date (the clock of :mod:`retrieval.experts_clock`).
- ``team2box_dba`` / ``team2box_physics``: ``expert-finding/<site>`` split by question id
  (first 80% indexed with their answerers, last 20% asked). Answer texts are absent: answers
  are stored as posts without text (authorship only), so a member's evidence is the questions
  they answered. The files carry no dates and no comments; posts get an *ordinal clock*
  (:func:`ordinal_dates`, bench only): Stack Exchange post ids grow with time, so a post's date
  is its id interpolated linearly over the site's life span (:data:`LIFE_SPANS`). That lets
  the time features (recent activity, newcomers, recency decay) carry signal on every dev site,
  so the cross-site protocol can choose their weights; the product reads only the data's own
  dates.

Questions are kept only when at least one of their answerers answered in the indexed part
(no method learning from the past could name the others). The asker is never a candidate.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from bench.common import (
    CachedEmbedder,
    cardano_members,
    cardano_thread,
    ingest_or_fail,
    parse_when,
    read_jsonl,
    read_qrels,
    write_jsonl,
)

log = logging.getLogger(__name__)
SITES = ("cardano", "team2box_dba", "team2box_physics")
LIFE_SPANS = {
    "team2box_dba": (datetime(2011, 1, 3, tzinfo=UTC), datetime(2019, 9, 1, tzinfo=UTC)),
    "team2box_physics": (datetime(2010, 11, 2, tzinfo=UTC), datetime(2019, 9, 1, tzinfo=UTC)),
}
"""Assumed (first post, last post) dates of the team2box sites, for :func:`ordinal_dates`:
dba.stackexchange.com and physics.stackexchange.com opened (private beta) in January 2011 and
November 2010, as their Stack Exchange histories tell (recalled, not checked against a source
here: no network); the team2box dump is taken as of September 2019 (the issue 13 follow-up's
brief; the files carry no date). A month either way shifts every date alike. Only the
order and the rough spacing matter: a linear map from ids to dates assumes a steady posting
rate, which a real site only roughly has."""


@dataclass
class Task:
    """One site at one split: what is indexed, what is asked, and the answer key."""

    site: str
    split: str
    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    answer_counts: Counter[str]
    qrels: dict[str, dict[str, float]]
    members: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0


@dataclass
class Question:
    """One asked question: its candidates' features and the answer key."""

    thread_id: str
    asker: str | None
    relevant: dict[str, float]
    members: list[str]
    features: list[Any]
    """``retrieval.experts_model.Features`` per candidate (evidence under the collect weights)."""
    plain: list[float]
    """Plain model 2 evidence per candidate (0 when the member has none under it)."""
    evidence_docs: list[int] = field(default_factory=list)
    """How many retrieved documents are evidence for each candidate."""

    @property
    def vectors(self) -> list[tuple[float, ...]]:
        """``Features.vector()`` per candidate."""
        return [f.vector() for f in self.features]


def keep_answerable(task: Task, later: list[dict[str, Any]]) -> Task:
    """Fill ``task.test`` with the later questions that have a known answerer."""
    task.test = [t for t in later if any(m in task.answer_counts for m in task.qrels.get(t["thread_id"], {}))]
    task.skipped = len(later) - len(task.test)
    return task


def read_comments(path: Path) -> list[dict[str, str]]:
    """Comments of a Stack Exchange dump's ``Comments.xml`` with a known author: id, post id,
    author (user id), created (as in the dump), text and score."""
    found = []
    for _, row in ElementTree.iterparse(path):
        if row.tag == "row" and row.get("UserId") and row.get("CreationDate"):
            found.append({"id": row.get("Id", ""), "post": row.get("PostId", ""), "author": row.get("UserId", ""),
                          "created": row.get("CreationDate", ""), "text": row.get("Text") or "",
                          "score": row.get("Score") or "0"})
        row.clear()
    return found


def with_comments(thread: dict[str, Any], comments: dict[str, list[dict[str, str]]], cut: datetime) -> dict[str, Any]:
    """``thread`` (native) with the comments written before ``cut`` on its posts, each after
    the posts (``comment: true``, ``reply_to`` the post it remarks on)."""
    posts = list(thread["posts"])
    for post in thread["posts"]:
        for c in comments.get(str(post["id"]), []):
            if parse_when(c["created"]) < cut and c["text"].strip():
                posts.append({"id": f"c{c['id']}", "author": c["author"], "created_at": c["created"] + "Z",
                              "text": c["text"], "reply_to": post["id"], "comment": True,
                              "score": int(c["score"])})
    return {**thread, "posts": posts}


def cardano_task(data: Path, quantile: float, comments: bool = True) -> Task:
    """Time split of stackexchange-cardano at ``quantile`` of the questions (with the dump's
    comments written before the cut, unless ``comments`` is false)."""
    folder = data / "stackexchange-cardano"
    threads = sorted(read_jsonl(folder / "threads.jsonl"), key=lambda t: t["question"]["created"])
    cut = parse_when(threads[int(len(threads) * quantile)]["question"]["created"])
    train = [cardano_thread(t, before=cut) for t in threads if parse_when(t["question"]["created"]) < cut]
    dump = folder / "dump" / "Comments.xml"
    if comments and dump.exists():
        on: dict[str, list[dict[str, str]]] = {}
        for c in read_comments(dump):
            on.setdefault(c["post"], []).append(c)
        train = [with_comments(t, on, cut) for t in train]
    counts = Counter(p["author"] for t in train for p in t["posts"][1:]
                     if p["author"] != "deleted" and not p.get("comment"))
    later = [t for t in threads if parse_when(t["question"]["created"]) >= cut]
    label = f"time {quantile:.0%} ({cut:%Y-%m-%d})" + ("" if comments else ", no comments")
    task = Task("cardano", label, train, [], counts,
                read_qrels(folder / "expert_qrels.tsv"), cardano_members(data))
    return keep_answerable(task, later)


def ordinal_dates(threads: list[dict[str, Any]], site: str) -> list[dict[str, Any]]:
    """``threads`` (raw team2box) with every question and answer dated by its post id: ids
    from the lowest to the highest in ``threads`` are mapped linearly onto the site's
    :data:`LIFE_SPANS` (ISO, UTC, no zone suffix, as the dumps write dates). Call it on the
    whole site's file, before any limit, so a post's date does not depend on the sample."""
    start, end = LIFE_SPANS[site]
    ids = [int(t["thread_id"]) for t in threads] + [int(a["id"]) for t in threads for a in t["answers"]]
    low, high = min(ids), max(ids)

    def when(post_id: str) -> str:
        share = (int(post_id) - low) / max(high - low, 1)
        return (start + (end - start) * share).replace(tzinfo=None).isoformat(timespec="seconds")

    return [{**t, "question": {**t["question"], "created": when(t["thread_id"])},
             "answers": [{**a, "created": when(a["id"])} for a in t["answers"]]} for t in threads]


def team2box_thread(raw: dict[str, Any]) -> dict[str, Any]:
    """A team2box thread as a native thread: the question with its text, answers without (dated
    when :func:`ordinal_dates` dated them)."""
    question = raw["question"]

    def date(post: dict[str, Any]) -> str | None:
        return post["created"] + "Z" if post.get("created") else None

    posts = [{"id": f"q{raw['thread_id']}", "author": question.get("author") or "deleted",
              "created_at": date(question), "text": question.get("text") or raw["title"], "score": 0}]
    posts += [{"id": a["id"], "author": a.get("author") or "deleted", "created_at": date(a), "text": None,
               "accepted": bool(a.get("accepted")), "score": int(a.get("score") or 0)} for a in raw["answers"]]
    return {"id": raw["thread_id"], "title": raw["title"], "channel": "questions", "url": raw.get("url", ""),
            "tags": list(raw.get("tags") or []), "visibility": "public", "posts": posts}


def team2box_task(data: Path, site: str, share: float = 0.8, limit: int | None = None, dated: bool = True) -> Task:
    """Split ``site`` by question id: the first ``share`` indexed, the rest asked; with
    ``limit``, only the ``limit`` lowest question ids take part (embedding time); with
    ``dated``, posts carry their ordinal dates (:func:`ordinal_dates`)."""
    folder = data / "expert-finding" / site
    threads = read_jsonl(folder / "threads.jsonl")
    threads = sorted(ordinal_dates(threads, site) if dated else threads, key=lambda t: int(t["thread_id"]))[:limit]
    cut = int(len(threads) * share)
    train = [team2box_thread(t) for t in threads[:cut]]
    counts = Counter(p["author"] for t in train for p in t["posts"][1:] if p["author"] != "deleted")
    label = f"id {share:.0%}/{1 - share:.0%}" + (f" of the first {limit} ids" if limit else "") + (
        ", ordinal dates" if dated else "")
    task = Task(site, label, train, [], counts, read_qrels(folder / "expert_qrels.tsv"))
    return keep_answerable(task, threads[cut:])


def question_text(thread: dict[str, Any]) -> str:
    """What is asked: title and body (the whole question, as a member would paste it)."""
    return f"{thread['title']}\n{thread['question'].get('text') or ''}".strip()


def question_clock(task: Task, thread: dict[str, Any], stats: Any) -> Any:
    """The clock a question is asked at: its date, else the index's serving clock."""
    from retrieval.experts_clock import Clock

    created = thread["question"].get("created")
    return Clock(parse_when(created)) if created else stats.clock()


def collect(task: Task, embedder: CachedEmbedder, depth: int, weights: Any) -> list[Question]:
    """Index ``task.train`` through the real ingest, ask every test question (``depth`` chunk
    hits), and keep each question's candidates under ``weights`` (features) and plain model 2
    evidence (same chance level)."""
    from bench.quality import open_searcher
    from retrieval.experts import candidates
    from retrieval.experts_members import MemberStats
    from retrieval.experts_model import PLAIN_MODEL_2

    plain_weights = replace(PLAIN_MODEL_2, min_similarity=weights.min_similarity)
    with tempfile.TemporaryDirectory(prefix="bench-experts-") as tmp:
        src = Path(tmp) / "src"
        write_jsonl(task.train, src / f"{task.site}.jsonl")
        if task.members:
            write_jsonl(task.members, src / "members.jsonl")
        ingest_or_fail([src], Path(tmp) / "index", embedder)
        searcher = open_searcher(Path(tmp) / "index", embedder)
        embedder.embed([question_text(x) for x in task.test])
        catalog, out = searcher.snapshot.catalog, []
        stats = MemberStats(catalog, (), searcher.snapshot.vectors)
        for thread in task.test:
            hits = searcher.search(question_text(thread), k=depth, collapse=False, mode="hybrid")
            clock, asker = question_clock(task, thread, stats), thread["question"].get("author")
            vector = searcher.question_vector(question_text(thread))
            full = [c for c in candidates(hits, catalog, clock, (), stats, weights, vector) if c.member_id != asker]
            plain = {c.member_id: c.features.evidence
                     for c in candidates(hits, catalog, clock, (), stats, plain_weights)}
            out.append(Question(thread["thread_id"], asker, task.qrels[thread["thread_id"]],
                                [c.member_id for c in full], [c.features for c in full],
                                [plain.get(c.member_id, 0.0) for c in full], [len(c.evidence) for c in full]))
        searcher.snapshot.close()
    return out
