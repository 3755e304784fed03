"""Cited answers on real forum data: SemEval-2015 Task 3 (Qatar Living), issue 12 part 1.

629 real forum questions, each with the comments of its own thread labelled Good, Potential,
Bad, Dialogue or Not English. All threads (question post + comments) are ingested into one
index, and each question (title + body) is asked through the real ``Library.ask`` against
that pooled index, as a caller without groups. The question's own thread stays in the index:
the task is finding the good answers among everything the community wrote, and a member's
question has usually been asked before. A citation counts as Good only when it cites a
comment labelled Good *for that question*: a comment of another thread, or a question post,
counts as not Good (so the figures are a lower bound: some comments elsewhere do answer).

Reported, on the same index in the same run:
- citation precision: Good share of all cited comments/posts over answered questions;
- first citation Good: share of answered questions whose citation [1] is Good;
- answered: share of questions not abstained;
- calibration: precision per confidence bin (0.1 wide) and, per abstain threshold, the
  precision and the share answered (so the threshold is chosen from data);
- baselines: the top-1 and top-3 comments by dense similarity alone (over every comment
  in the pool), and chance (the Good share of the pooled comments; and of each question's
  own thread, averaged).

Embeddings are cached under ``var/bench-cache`` (:class:`bench.common.CachedEmbedder`), so a
rerun embeds nothing.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import REPO, table

log = logging.getLogger(__name__)
DATA = REPO.parent / "shared" / "data" / "semeval2015-qatarliving" / "threads.jsonl"
FOLDER = REPO / "var" / "bench-cache" / "semeval"
DENSE_POOL = 50
"""Chunks fetched per question for the dense baselines (comments are one chunk each)."""


@dataclass
class Asked:
    """One question's outcome: cited post ids in order, whether each is Good, confidence."""

    question_id: str
    split: str
    """The official release's part: ``dev`` (thresholds are chosen here) or ``test`` (held out)."""
    abstained: bool
    confidence: float
    cited: list[str]
    good: list[bool]
    dense_good: list[bool]
    """Good flags of the top comments by dense similarity alone, best first."""
    text: str = ""


def read_threads(path: Path = DATA) -> list[dict[str, Any]]:
    """The raw SemEval threads (one JSON object per line)."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def question_text(thread: dict[str, Any]) -> str:
    """What the member asked: the title and the body."""
    return f"{thread['title']}\n{thread['question']['text']}".strip()


def native_thread(thread: dict[str, Any]) -> dict[str, Any]:
    """A SemEval thread in our native JSONL format (the question is post 1; comments follow,
    dated like the question when they carry no date; empty comments dropped)."""
    created = (thread["question"].get("created") or "2010-01-01 00:00:00").replace(" ", "T") + "Z"
    posts = [{"id": f"{thread['thread_id']}_Q", "author": thread["question"]["author"] or "unknown",
              "created_at": created, "text": thread["question"]["text"].strip() or thread["title"]}]
    for c in thread["answers"]:
        if c["text"].strip():
            posts.append({"id": c["id"], "author": c["author"] or "unknown", "created_at": created,
                          "text": c["text"].strip(), "reply_to": posts[0]["id"]})
    return {"id": thread["thread_id"], "title": thread["title"].strip() or thread["thread_id"],
            "channel": "qatarliving", "url": f"https://www.qatarliving.com/forum/{thread['thread_id']}",
            "posts": posts}


def write_corpus(threads: list[dict[str, Any]], folder: Path = FOLDER / "corpus") -> Path:
    """The threads and their authors as native JSONL files under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    native = [native_thread(t) for t in threads]
    authors = sorted({p["author"] for t in native for p in t["posts"]})
    (folder / "threads.jsonl").write_text("".join(json.dumps(t) + "\n" for t in native), encoding="utf-8")
    members = "".join(json.dumps({"id": a, "name": a}) + "\n" for a in authors)
    (folder / "members.jsonl").write_text(members, encoding="utf-8")
    return folder


def good_comments(threads: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Question id -> ids of its comments labelled Good."""
    return {t["thread_id"]: {c["id"] for c in t["answers"] if c["label"] == "Good"} for t in threads}


def dense_top(library: Any, question: str, k: int) -> list[str]:
    """The ``k`` best comments (never question posts) by dense similarity alone."""
    hits = library.searcher().search(question, k=DENSE_POOL, collapse=False, mode="dense")
    ranked = sorted((h for h in hits if h.post_id and not h.post_id.endswith("_Q")), key=lambda h: -h.similarity)
    return list(dict.fromkeys(h.post_id for h in ranked))[:k]


def ask_all(library: Any, ungated: Any, threads: list[dict[str, Any]]) -> list[Asked]:
    """Every question through ``library.ask``, and its dense top-3 comments. For the
    calibration only, an abstained question is asked again through ``ungated`` (the same
    index with an answerer that never abstains), to see what it would have cited."""
    good = good_comments(threads)
    results = []
    for n, thread in enumerate(threads, start=1):
        qid, question = thread["thread_id"], question_text(thread)
        answer = library.ask(question)
        shown = ungated.ask(question) if answer.abstained else answer
        cited = [c.post_id or c.doc_id for c in shown.citations]
        dense = dense_top(library, question, 3)
        flags = [c in good[qid] for c in cited]
        results.append(Asked(qid, thread.get("split", "dev"), answer.abstained, answer.confidence, cited, flags,
                             [d in good[qid] for d in dense], answer.text))
        if n % 100 == 0:
            log.info("asked %d of %d", n, len(threads))
    return results


def precision(rows: Sequence[Asked]) -> float:
    """Good share of all citations of ``rows``."""
    flags = [g for r in rows for g in r.good]
    return sum(flags) / len(flags) if flags else 0.0


def figures(results: list[Asked], threads: list[dict[str, Any]]) -> dict[str, float]:
    """The headline figures (see the module docstring)."""
    answered = [r for r in results if not r.abstained and r.cited]
    comments = [c for t in threads for c in t["answers"] if c["text"].strip()]
    own = [sum(c["label"] == "Good" for c in t["answers"]) / len(t["answers"]) for t in threads if t["answers"]]
    return {
        "questions": len(results),
        "answered": len(answered) / len(results),
        "citation precision (Good share of cited)": precision(answered),
        "first citation Good": sum(r.good[0] for r in answered) / max(len(answered), 1),
        "mean citations per answer": statistics.mean(len(r.cited) for r in answered) if answered else 0.0,
        "baseline: top-1 dense comment Good": sum(r.dense_good[:1].count(True) for r in results) / len(results),
        "baseline: top-3 dense comments Good share": sum(r.dense_good[:3].count(True) for r in results)
        / max(sum(len(r.dense_good[:3]) for r in results), 1),
        "baseline top-1 dense, on the answered questions": sum(r.dense_good[:1].count(True) for r in answered)
        / max(len(answered), 1),
        "chance: Good share of the pooled comments": sum(c["label"] == "Good" for c in comments) / len(comments),
        "chance: Good share of the question's own thread (mean)": statistics.mean(own),
    }


def choose_threshold(rows: list[Asked], min_answered: float = 0.9) -> float:
    """The abstain threshold with the best citation precision among those that still answer
    at least ``min_answered`` of ``rows`` (a margin over the 85% target, so the choice made
    on dev questions holds on held-out ones); 0 when none does."""
    best, best_precision = 0.0, -1.0
    for threshold in [x / 100 for x in range(0, 100)]:
        kept = [r for r in rows if r.cited and r.confidence >= threshold]
        if len(kept) / max(len(rows), 1) >= min_answered and precision(kept) > best_precision:
            best, best_precision = threshold, precision(kept)
    return best


def gated(rows: list[Asked], threshold: float) -> list[Asked]:
    """``rows`` as an answerer abstaining below ``threshold`` would have answered them."""
    return [Asked(r.question_id, r.split, r.confidence < threshold or not r.cited, r.confidence, r.cited, r.good,
                  r.dense_good, r.text) for r in rows]


def calibration(results: list[Asked]) -> tuple[str, str]:
    """Two Markdown tables: precision per confidence bin, and per abstain threshold."""
    answered = [r for r in results if r.cited]
    bins = []
    for low in [x / 10 for x in range(10)]:
        rows = [r for r in answered if low <= r.confidence < low + 0.1 or (low == 0.9 and r.confidence >= 1.0)]
        if rows:
            bins.append((f"{low:.1f}-{low + 0.1:.1f}", len(rows), precision(rows),
                         sum(r.good[0] for r in rows) / len(rows)))
    per_bin = table(["confidence", "questions", "citation precision", "first citation Good"], bins)
    steps = []
    for threshold in [x / 20 for x in range(4, 17)]:
        rows = [r for r in answered if r.confidence >= threshold]
        steps.append((f"{threshold:.2f}", len(rows) / len(results), precision(rows)))
    return per_bin, table(["abstain below", "answered", "citation precision"], steps)
