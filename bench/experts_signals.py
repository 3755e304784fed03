"""Signals beyond the shipped features, probed on cardano (issue 13): do any of them move the
ranking towards 1.3x the popularity prior where the shipped ranker stops (1.25x / 1.17x /
1.10x at the 50/70/85% cuts)?

Every probe ranks *every* member who answered before the cut (no retrieval, no candidates), by
``log(1 + answers) + w x signal`` with the weight ``w`` chosen on the split itself from a small
grid (in-sample, so each figure is an optimistic bound for that signal added to popularity, not a
method), against popularity = ``w = 0``. Same protocol as ``bench/experts.py``: index the
threads before the cut (answers written before it), ask the later questions with at least one
answerer known before the cut, asker removed, MRR@10 over who answered
(``expert_qrels.tsv``). Signals:

- *recent activity*: answers decayed with a 30-day half-life from the cut (what ships, alone);
- *days since last answer*: ``-log(1 + days)`` at the cut (has the member left?);
- *hour of day*: smoothed share of the member's answers written within 3 hours (circular) of
  the hour the question was asked (availability in question-routing papers);
- *asker ties*: ``log(1 + answers to this asker's earlier questions)``;
- *lexical profile*: TF-IDF cosine (scikit-learn, sublinear tf, English stop words) of the
  question to the concatenation of everything the member answered (titles, questions and
  their answers), a lexical model 1 beside the shipped dense profile;
- *rolling index*: a different protocol, not a signal. Each question is asked against
  everything written before it (as an index re-ingested before every question would be);
  popularity and recent activity are both recomputed per question, and the ratio is
  recent-activity-added over *rolling* popularity.

    .venv/bin/python bench/experts_signals.py [--data DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    data_dir,
    mean,
    mrr_at,
    paired,
    parse_when,
    read_jsonl,
    read_qrels,
    section_header,
    table,
    timer,
    write_section,
)

CUTS = (0.5, 0.7, 0.85)
WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0)
"""The grid each signal's weight is chosen from, on the split itself (0 = popularity)."""
HALF_LIFE_DAYS = 30.0
HOUR_WINDOW = 3.0
TAG = re.compile(r"<[^>]+>")

Scorer = Callable[[dict[str, Any], str], float]
"""(question thread, member) -> the signal's value."""


def days_between(later: datetime, earlier: datetime) -> float:
    """``later - earlier`` in days (float)."""
    return (later - earlier).total_seconds() / 86400.0


def hour(when: datetime) -> float:
    """Hour of day with minutes, 0-24."""
    return when.hour + when.minute / 60.0


class Split:
    """One cut of cardano: who answered what before it, and the questions asked after it."""

    def __init__(self, threads: list[dict[str, Any]], qrels: dict[str, dict[str, float]], quantile: float) -> None:
        self.cut = parse_when(threads[int(len(threads) * quantile)]["question"]["created"])
        self.label = f"time {quantile:.0%} ({self.cut:%Y-%m-%d})"
        dated = [(a, parse_when(a["created"]), t) for t in threads for a in t["answers"] if a.get("author")]
        self.answers = [(a["author"], when, t, a) for a, when, t in dated if when < self.cut]
        """(member, date, thread, the answer itself) of every answer written before the cut."""
        self.count = Counter(m for m, _, _, _ in self.answers)
        self.qrels = qrels
        self.test = [t for t in threads if parse_when(t["question"]["created"]) >= self.cut
                     and any(m in self.count for m in qrels.get(t["thread_id"], {}))]

    def rank(self, question: dict[str, Any], weight: float, signal: Scorer | None) -> list[str]:
        """Members by ``log(1 + answers) + weight x signal``, asker removed, best 10."""
        asker = question["question"].get("author")
        score = {m: math.log1p(c) + (weight * signal(question, m) if signal and weight else 0.0)
                 for m, c in self.count.items() if m != asker}
        return sorted(score, key=lambda m: (-score[m], m))[:10]

    def mrrs(self, weight: float, signal: Scorer | None) -> list[float]:
        """MRR@10 per test question."""
        return [mrr_at(self.rank(t, weight, signal), self.qrels[t["thread_id"]], 10) for t in self.test]


def signals(split: Split) -> dict[str, Scorer]:
    """Each probed signal on ``split`` (computed from the answers before its cut only)."""
    recent: Counter[str] = Counter()
    last: dict[str, datetime] = {}
    hours: dict[str, list[float]] = defaultdict(list)
    ties: dict[str, Counter[str]] = defaultdict(Counter)
    texts: dict[str, list[str]] = defaultdict(list)
    for member, when, thread, answer in split.answers:
        recent[member] += 0.5 ** (days_between(split.cut, when) / HALF_LIFE_DAYS)
        last[member] = max(last.get(member, when), when)
        hours[member].append(hour(when))
        ties[thread["question"].get("author") or ""][member] += 1
        texts[member].append(" ".join((thread["title"], TAG.sub(" ", thread["question"].get("text") or ""),
                                       TAG.sub(" ", answer.get("text") or ""))))

    def near_hour(question: dict[str, Any], member: str) -> float:
        h = hour(parse_when(question["question"]["created"]))
        near = sum(1 for x in hours[member] if min(abs(x - h), 24 - abs(x - h)) <= HOUR_WINDOW)
        return math.log((near + 1) / (len(hours[member]) + 4))  # smoothed towards 1/4, the window's share

    from sklearn.feature_extraction.text import TfidfVectorizer

    members = sorted(texts)
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    profiles = vectorizer.fit_transform([" ".join(texts[m]) for m in members])
    questions = vectorizer.transform([f"{t['title']} {TAG.sub(' ', t['question'].get('text') or '')}"
                                      for t in split.test])
    cosine = (questions @ profiles.T).toarray()
    row = {t["thread_id"]: i for i, t in enumerate(split.test)}
    column = {m: j for j, m in enumerate(members)}
    return {
        "recent activity (30-day half-life)": lambda q, m: math.log1p(recent[m]),
        "days since last answer": lambda q, m: -math.log1p(days_between(split.cut, last[m])),
        "hour of day": near_hour,
        "asker ties": lambda q, m: math.log1p(ties[q["question"].get("author") or ""][m]),
        "lexical profile (TF-IDF)": lambda q, m: math.log(cosine[row[q["thread_id"]], column[m]] + 0.01),
    }


def rolling(split: Split, threads: list[dict[str, Any]]) -> tuple[list[float], dict[float, list[float]]]:
    """Per-question MRR of rolling popularity, and of rolling popularity + w x recent activity
    for each ``w`` of :data:`WEIGHTS`, each question against everything written before it."""
    every = sorted((parse_when(a["created"]), a["author"]) for t in threads for a in t["answers"] if a.get("author"))
    base: list[float] = []
    added: dict[float, list[float]] = {w: [] for w in WEIGHTS}
    for t in split.test:
        asked = parse_when(t["question"]["created"])
        count: Counter[str] = Counter()
        recent: Counter[str] = Counter()
        for when, member in every:
            if when >= asked:
                break
            count[member] += 1
            recent[member] += 0.5 ** (days_between(asked, when) / HALF_LIFE_DAYS)
        asker, relevant = t["question"].get("author"), split.qrels[t["thread_id"]]
        for w in (0.0, *WEIGHTS):
            score = {m: math.log1p(c) + w * math.log1p(recent[m]) for m, c in count.items() if m != asker}
            ranked = sorted(score, key=lambda m: (-score[m], m))[:10]
            (base if w == 0.0 else added[w]).append(mrr_at(ranked, relevant, 10))
    return base, added


def main(argv: list[str] | None = None) -> None:
    """Probe every signal at every cut and write the section."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    folder = data_dir(args.data) / "stackexchange-cardano"
    threads = sorted(read_jsonl(folder / "threads.jsonl"), key=lambda t: t["question"]["created"])
    qrels = read_qrels(folder / "expert_qrels.tsv")
    rows: list[tuple[object, ...]] = []
    with timer() as total:
        for quantile in CUTS:
            split = Split(threads, qrels, quantile)
            base = split.mrrs(0.0, None)
            rows.append((split.label, len(split.test), "popularity (answers before the cut)", "-", mean(base),
                         "1.00x", "-"))
            for name, signal in signals(split).items():
                best = max(WEIGHTS, key=lambda w: mean(split.mrrs(w, signal)))
                scores = split.mrrs(best, signal)
                rows.append((split.label, len(split.test), f"+ {name}", best, mean(scores),
                             f"{mean(scores) / max(mean(base), 1e-9):.2f}x", f"{paired(scores, base).p_value:.3f}"))
            roll_base, roll = rolling(split, threads)
            best = max(WEIGHTS, key=lambda w: mean(roll[w]))
            rows.append((split.label, len(split.test), "rolling index: popularity", "-", mean(roll_base),
                         f"{mean(roll_base) / max(mean(base), 1e-9):.2f}x of frozen", "-"))
            rows.append((split.label, len(split.test), "rolling index: + recent activity", best, mean(roll[best]),
                         f"{mean(roll[best]) / max(mean(roll_base), 1e-9):.2f}x of rolling",
                         f"{paired(roll[best], roll_base).p_value:.3f}"))
    body = "\n".join([
        section_header("Signals probed for expert finding on cardano (issue 13)",
                       ".venv/bin/python bench/experts_signals.py"),
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        "",
        table(["split", "questions", "ranking", "weight (chosen in-sample)", "MRR@10", "ratio", "p vs base"], rows),
        "",
        f"Run time {total['s']:.0f} s.",
    ])
    print(body)
    if not args.no_write:
        write_section("experts-signals", body)


if __name__ == "__main__":
    main()
