"""Expert-finding tasks for bench/experts.py: three dev communities, their splits, and the
candidate features each question yields through the real ingest + search + feature code.

- ``cardano``: ``stackexchange-cardano`` split by time at the date by which 50/70/85% of the
  questions had been asked; only answers written before the cut are indexed; each later
  question is asked at its own date (the clock of :mod:`retrieval.experts_clock`).
- ``team2box_dba`` / ``team2box_physics``: ``expert-finding/<site>`` split by question id
  (first 80% indexed with their answerers, last 20% asked). Answer texts are absent: answers
  are stored as posts without text (authorship only), so a member's evidence is the questions
  they answered. No dates: the serving clock of such an index is undated.

Questions are kept only when at least one of their answerers answered in the indexed part
(no method learning from the past could name the others). The asker is never a candidate.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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


def cardano_task(data: Path, quantile: float) -> Task:
    """Time split of stackexchange-cardano at ``quantile`` of the questions."""
    folder = data / "stackexchange-cardano"
    threads = sorted(read_jsonl(folder / "threads.jsonl"), key=lambda t: t["question"]["created"])
    cut = parse_when(threads[int(len(threads) * quantile)]["question"]["created"])
    train = [cardano_thread(t, before=cut) for t in threads if parse_when(t["question"]["created"]) < cut]
    counts = Counter(p["author"] for t in train for p in t["posts"][1:] if p["author"] != "deleted")
    later = [t for t in threads if parse_when(t["question"]["created"]) >= cut]
    task = Task("cardano", f"time {quantile:.0%} ({cut:%Y-%m-%d})", train, [], counts,
                read_qrels(folder / "expert_qrels.tsv"), cardano_members(data))
    return keep_answerable(task, later)


def team2box_thread(raw: dict[str, Any]) -> dict[str, Any]:
    """A team2box thread as a native thread: the question with its text, answers without."""
    question = raw["question"]
    posts = [{"id": f"q{raw['thread_id']}", "author": question.get("author") or "deleted", "created_at": None,
              "text": question.get("text") or raw["title"], "score": 0}]
    posts += [{"id": a["id"], "author": a.get("author") or "deleted", "created_at": None, "text": None,
               "accepted": bool(a.get("accepted")), "score": int(a.get("score") or 0)} for a in raw["answers"]]
    return {"id": raw["thread_id"], "title": raw["title"], "channel": "questions", "url": raw.get("url", ""),
            "tags": list(raw.get("tags") or []), "visibility": "public", "posts": posts}


def team2box_task(data: Path, site: str, share: float = 0.8, limit: int | None = None) -> Task:
    """Split ``site`` by question id: the first ``share`` indexed, the rest asked; with
    ``limit``, only the ``limit`` lowest question ids take part (embedding time)."""
    folder = data / "expert-finding" / site
    threads = sorted(read_jsonl(folder / "threads.jsonl"), key=lambda t: int(t["thread_id"]))[:limit]
    cut = int(len(threads) * share)
    train = [team2box_thread(t) for t in threads[:cut]]
    counts = Counter(p["author"] for t in train for p in t["posts"][1:] if p["author"] != "deleted")
    label = f"id {share:.0%}/{1 - share:.0%}" + (f" of the first {limit} ids" if limit else "")
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
