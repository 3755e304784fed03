"""Off-topic knowledge gaps: does the nearest chunk's cosine tell "the community never discussed
this" from "the community is about something else"?

Three real communities (see ``../shared/data/README.md``), each indexed with the real pipeline
and the product's model, with part of its threads held out:

- cardano.stackexchange: threads before the 70% time point indexed; the later questions' titles
  are the in-domain questions (their threads are not in the index: real gaps);
- StackFAQ (web apps): 70% of the threads indexed; the paraphrased questions of the other 30%
  are the in-domain questions;
- SemEval-2015 Qatar Living: the dev threads indexed; the test questions (title and body) are
  the in-domain questions.

For each index, the in-domain questions of the two other communities are the off-topic ones
(at most ``--per-side`` from each, drawn with a fixed seed). Every question is scored by what a
facilitator's gap list uses, :meth:`retrieval.search.Searcher.nearest` (top-1 cosine over what
an anonymous caller may see); the mean of the top 5 cosines and the top BM25 score (FTS5) are
shown for comparison. The threshold is the highest cosine that marks at most ``--max-false``
of in-domain questions off-topic (2%: a real gap ranked among the off-topic ones costs more than
an off-topic one listed), chosen on two communities and tested on the third (each in turn),
beside the 1% and 5% rules; the shipped value is chosen on all three.

Run: ``nice -n 19 .venv/bin/python bench/offtopic.py`` (~3 min warm, embeddings cached).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    CachedEmbedder,
    cardano_members,
    cardano_thread,
    data_dir,
    index_dir,
    ingest_or_fail,
    load_model,
    parse_when,
    read_jsonl,
    section_header,
    stackfaq_threads,
    table,
    timer,
    write_jsonl,
    write_section,
)
from bench.semeval import question_text, read_threads, write_corpus  # noqa: E402

HELD_SHARE = 0.3


@dataclass
class Community:
    """An index's source folder and its held-out (in-domain, unanswered) questions."""

    name: str
    folder: Path
    questions: list[str]


def cardano(data: Path, work: Path) -> Community:
    """Cardano split by time: the earliest 70% of questions indexed (with the answers written
    before the split), the later titles asked."""
    raw = sorted(read_jsonl(data / "stackexchange-cardano" / "threads.jsonl"), key=lambda t: t["question"]["created"])
    cut = int(len(raw) * (1 - HELD_SHARE))
    split: datetime = parse_when(raw[cut]["question"]["created"])
    folder = work / "cardano"
    write_jsonl(cardano_members(data), folder / "members.jsonl")
    write_jsonl([cardano_thread(t, before=split) for t in raw[:cut]], folder / "threads.jsonl")
    return Community("cardano", folder, [t["title"] for t in raw[cut:]])


def stackfaq(data: Path, work: Path) -> Community:
    """StackFAQ: every third-and-a-bit thread held out (by id), its paraphrases asked."""
    threads = stackfaq_threads(data, "thread")
    held = {t["id"] for i, t in enumerate(threads) if i % 10 < HELD_SHARE * 10}
    folder = work / "stackfaq"
    write_jsonl([{"id": "stackfaq-anon", "name": "StackFAQ author", "handles": {}, "opt_out": False}],
                folder / "members.jsonl")
    write_jsonl([t for t in threads if t["id"] not in held], folder / "threads.jsonl")
    queries = [q["text"] for q in read_jsonl(data / "stackfaq" / "queries.jsonl") if q["id"].split("_")[0] in held]
    return Community("stackfaq", folder, queries)


def semeval(data: Path, work: Path) -> Community:
    """SemEval: the dev threads indexed, the test questions (title and body) asked."""
    threads = read_threads(data / "semeval2015-qatarliving" / "threads.jsonl")
    folder = write_corpus([t for t in threads if t["split"] == "dev"], work / "semeval")
    return Community("semeval", folder, [question_text(t) for t in threads if t["split"] == "test"])


@dataclass
class Scores:
    """Per question of one index: top-1 cosine, mean of the top-5 cosines, top BM25; in-domain or not."""

    top1: np.ndarray
    top5: np.ndarray
    bm25: np.ndarray
    in_domain: np.ndarray


def score(community: Community, off_topic: list[str], embedder: Any, work: Path) -> Scores:
    """Index ``community`` and score its own held-out questions and ``off_topic`` ones."""
    from retrieval.filters import Filters
    from retrieval.search import Searcher

    path = work / f"index-{community.name}"
    ingest_or_fail([community.folder], path, embedder)
    snapshot = index_dir(path).open(embedder.model_id)
    searcher = Searcher(snapshot, embedder)
    questions = community.questions + off_topic
    vectors = embedder.embed(questions)
    top1 = searcher.nearest(vectors)
    top5, bm25 = [], []
    for text, vector in zip(questions, vectors, strict=True):
        five = snapshot.vectors.search(vector, 5, Filters(), ())
        top5.append(float(np.mean([s for _, s in five])) if five else 0.0)
        lexical = snapshot.lexical.search(text, 1, Filters(), ())
        bm25.append(float(lexical[0][1]) if lexical else 0.0)
    snapshot.close()
    flags = np.array([True] * len(community.questions) + [False] * len(off_topic))
    return Scores(np.asarray(top1, dtype=np.float64), np.array(top5), np.array(bm25), flags)


def auc(values: np.ndarray, in_domain: np.ndarray) -> float:
    """ROC AUC of ``values`` ranking in-domain questions above off-topic ones (ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(in_domain, values))


def choose(in_domain: np.ndarray, max_false: float) -> float:
    """The highest threshold (cosine, 3 decimals) marking at most ``max_false`` of ``in_domain`` off-topic
    (off-topic: below the threshold)."""
    candidates = np.round(np.arange(0.0, 1.0, 0.005), 3)
    fine = [t for t in candidates if float(np.mean(in_domain < t)) <= max_false]
    return float(max(fine))


def rates(scores: Scores, threshold: float) -> tuple[float, float]:
    """(share of in-domain questions marked off-topic, share of off-topic questions marked)."""
    marked = scores.top1 < threshold
    return float(marked[scores.in_domain].mean()), float(marked[~scores.in_domain].mean())


def run(args: argparse.Namespace) -> str:
    """Every figure of the section, as Markdown."""
    data = data_dir(args.data)
    embedder = CachedEmbedder(load_model())
    with tempfile.TemporaryDirectory() as tmp, timer() as took:
        work = Path(tmp)
        communities = [cardano(data, work), stackfaq(data, work), semeval(data, work)]
        rng = random.Random(7)
        results: dict[str, Scores] = {}
        for c in communities:
            others = [o for o in communities if o is not c]
            off = [q for o in others for q in rng.sample(o.questions, min(args.per_side, len(o.questions)))]
            results[c.name] = score(c, off, embedder, work)
            print(f"{c.name}: scored {len(results[c.name].top1)} questions", flush=True)
    rows = [(name, int(s.in_domain.sum()), int((~s.in_domain).sum()), auc(s.top1, s.in_domain),
             auc(s.top5, s.in_domain), auc(s.bm25, s.in_domain),
             float(np.median(s.top1[s.in_domain])), float(np.median(s.top1[~s.in_domain])))
            for name, s in results.items()]
    held = []
    for rule in sorted({0.01, 0.02, 0.05, args.max_false}):
        for name, s in results.items():
            dev = np.concatenate([o.top1[o.in_domain] for n, o in results.items() if n != name])
            threshold = choose(dev, rule)
            held.append((f"{rule:.0%}", name, threshold, *rates(s, threshold)))
    shipped = choose(np.concatenate([s.top1[s.in_domain] for s in results.values()]), args.max_false)
    shipped_rows = [(name, *rates(s, shipped)) for name, s in results.items()]
    body = [
        section_header("Off-topic knowledge gaps (top-1 cosine)", args.command),
        f"- embedded {embedder.computed} texts not in the cache; {took['cpu']:.0f} CPU s, {took['s']:.0f} s wall",
        f"- threshold rule: the highest cosine (step 0.005) marking at most {args.max_false:.0%} of in-domain "
        "questions off-topic; off-topic = top-1 cosine below it",
        "",
        "Separation per index (ROC AUC: in-domain held-out questions vs the other communities' questions; "
        "top-1 is what the product uses):",
        "",
        table(["index", "in-domain", "off-topic", "AUC top-1 cos", "AUC mean top-5 cos", "AUC top BM25",
               "median top-1 in-domain", "median top-1 off-topic"], rows),
        "",
        "Threshold chosen on the two other communities (rule: at most this share of their in-domain questions "
        "marked), tested on this one:",
        "",
        table(["rule", "held-out index", "threshold", "in-domain marked off-topic", "off-topic marked"], held),
        "",
        f"Shipped threshold `OFF_TOPIC_BELOW = {shipped:.3f}` (chosen on all three in-domain sets; on dev data, "
        "so these rates are not held out):",
        "",
        table(["index", "in-domain marked off-topic", "off-topic marked"], shipped_rows),
    ]
    return "\n".join(body)


def cost(args: argparse.Namespace) -> str:
    """Milliseconds of :func:`app.gaps.mark_gaps` on a grown latency index (the lead's, under
    ``var/bench-cache/latency``, ~5% of documents private to ``mentors``): ``--gaps`` gaps
    of cardano titles (``--gaps`` questions, anonymous askers) seen by a ``mentors``
    facilitator (every gap off-topic or not is measured; the first 20 not off-topic are asked
    again), and the nearest-chunk part alone."""
    import statistics
    import time

    from app.gaps import PRIVATE_CHECKS, Gap, mark_gaps
    from bench.answer_latency import library_for

    index = Path(args.index)
    library = library_for(index, None)
    titles = [t["title"] for t in read_jsonl(data_dir(args.data) / "stackexchange-cardano" / "threads.jsonl")]
    titles = titles[-args.gaps:]
    vectors = library.embedder.embed(titles)

    def fresh() -> list[Gap]:
        return [Gap(t, [{}], v, [(None, ())]) for t, v in zip(titles, vectors, strict=True)]

    whole, nearest, one_by_one = [], [], []
    with library.lease() as pinned:
        mark_gaps(fresh(), pinned, ("mentors",))  # warm-up
        for _ in range(args.rounds):
            start = time.perf_counter()
            marked = mark_gaps(fresh(), pinned, ("mentors",))
            whole.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            for gap in fresh():
                pinned.searcher().nearest(gap.vector[None, :], ("mentors",))
            one_by_one.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            pinned.searcher().nearest(np.stack([g.vector for g in fresh()]), ("mentors",))
            nearest.append((time.perf_counter() - start) * 1000)
    checked = sum(g.private_answer is not None for g in marked)
    with_private = sum(bool(g.private_answer) for g in marked)
    grown = index.name
    return "\n".join([
        section_header("Off-topic knowledge gaps: cost of marking", args.command),
        "",
        f"`mark_gaps` on `{grown}` for a `mentors` facilitator: {len(titles)} gaps (later cardano titles, "
        f"anonymous askers), {checked} asked again (at most {PRIVATE_CHECKS}), {with_private} with a private "
        f"answer; median of {args.rounds} rounds after a warm-up.",
        "",
        table(["part", "ms (median)", "ms per gap"], [
            ("mark_gaps, whole", statistics.median(whole), statistics.median(whole) / len(titles)),
            ("nearest chunk alone, every gap in one call (as shipped)", statistics.median(nearest),
             statistics.median(nearest) / len(titles)),
            ("nearest chunk alone, one call per gap", statistics.median(one_by_one),
             statistics.median(one_by_one) / len(titles)),
        ]),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--per-side", type=int, default=300, help="off-topic questions from each other community")
    parser.add_argument("--max-false", type=float, default=0.02, help="in-domain share allowed to be marked off-topic")
    parser.add_argument("--cost", action="store_true", help="time mark_gaps on --index instead (under the lock)")
    parser.add_argument("--index", default="var/bench-cache/latency/grown-sqlite-faiss-100000")
    parser.add_argument("--gaps", type=int, default=50, help="--cost: gaps to mark")
    parser.add_argument("--rounds", type=int, default=5, help="--cost: timed rounds")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = ".venv/bin/python bench/offtopic.py" + "".join(f" {a}" for a in sys.argv[1:] if a != "--no-write")
    args.command = (f"flock /work/bench.lock setsid bash -c 'echo -20 > /proc/self/autogroup; exec {command}'"
                    if args.cost else f"nice -n 19 {command}")
    text = cost(args) if args.cost else run(args)
    print(text)
    if not args.no_write:
        write_section("offtopic-cost" if args.cost else "offtopic", text)


if __name__ == "__main__":
    main()
