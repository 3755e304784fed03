"""Retrieval quality on StackFAQ and expert finding on cardano.stackexchange (issue 3).

StackFAQ (Karan & Šnajder 2018), thread level and answer level: every query of
``queries.jsonl`` is searched with the real ``Searcher`` in dense, lexical (FTS5 BM25) and
hybrid mode, results collapsed to one hit per document, and scored against ``qrels.tsv``:
nDCG@10, MRR@10, Recall@100.

``--sweep`` also evaluates a grid of fusion settings offline (see ``bench/fusion.py``) and
``--heldout`` picks each fusion family's best setting on one half of the queries (by
``paraphrase_group``) and reports it on the other half, both ways round.

Expert finding: cardano.stackexchange split by time. Threads asked before the cut (the date
by which a share ``--cuts`` of the questions had been asked; answers written after the cut
left out) are indexed; each later question (title + body) is searched (``collapse=False``,
``retrieval.experts.EXPERT_HITS`` hits) and
``retrieval.experts.suggest_experts`` ranks members; the asker is never counted. Scored
against ``expert_qrels.tsv`` (2 = accepted answer, 1 = other answer): MRR@10, P@1, nDCG@3,
beside a popularity baseline (members by number of answers before the cut). Only questions
with at least one answerer who also answered before the cut are evaluated.

Embeddings are cached on disk by text hash (``var/bench-cache/``): the first run embeds the
corpora (a few minutes), reruns take well under a minute plus the sweep.

    .venv/bin/python bench/quality.py [--sweep] [--heldout] [--skip-faq] [--skip-experts]
                                      [--cuts 0.7,0.5,0.85] [--data DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: the repository, not bench/, goes first on the path
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    CachedEmbedder,
    cardano_members,
    cardano_thread,
    data_dir,
    ingest_or_fail,
    load_model,
    mean,
    mrr_at,
    ndcg_at,
    paired,
    parse_when,
    precision_at,
    read_jsonl,
    read_qrels,
    recall_at,
    section_header,
    table,
    timer,
    write_jsonl,
    write_section,
    write_stackfaq,
)
from bench.fusion import Setting, chunk_documents, fetch_candidates, grid  # noqa: E402

MODES = ("dense", "lexical", "hybrid")
LEVELS = ("thread", "answer")
SWEEP_DEPTH = 1600
"""Candidates fetched per list for the sweep: deep enough for the Searcher's pool growth."""


@dataclass
class Query:
    """One StackFAQ query."""

    id: str
    text: str
    group: int


@dataclass
class LevelResult:
    """Per-query scores of one StackFAQ level: ``scores[mode][metric]`` lists, query order."""

    level: str
    documents: int
    chunks: int
    scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    top10: dict[str, list[list[str]]] = field(default_factory=dict)
    sweep: dict[Setting, dict[str, list[float]]] = field(default_factory=dict)
    agree: int = 0
    """Queries whose top 10 the sweep's replay of the shipped fusion reproduces exactly."""


# --------------------------------------------------------------------------- StackFAQ


def faq_queries(data: Path) -> list[Query]:
    """The StackFAQ queries (the same at both levels)."""
    rows = read_jsonl(data / "stackfaq" / "queries.jsonl")
    return [Query(r["id"], r["text"], int(r["paraphrase_group"])) for r in rows]


def faq_qrels(data: Path, level: str) -> dict[str, dict[str, float]]:
    """Relevance judgements of one level."""
    folder = data / "stackfaq" / ("answer_level" if level == "answer" else "")
    return read_qrels(folder / "qrels.tsv")


def open_searcher(index: Path, embedder: CachedEmbedder) -> Any:
    """A Searcher over the index with the product's default fusion settings."""
    from app.settings import SearchOptions
    from retrieval.index import IndexDir
    from retrieval.search import Searcher

    snapshot = IndexDir(index).open(embedder.model_id)
    return Searcher(snapshot, embedder, **SearchOptions().model_dump())


def run_modes(searcher: Any, queries: list[Query], qrels: dict[str, dict[str, float]], result: LevelResult) -> None:
    """Search every query in every mode (k=10 for the rank metrics, k=100 for recall)."""
    for mode in MODES:
        scores: dict[str, list[float]] = {"ndcg@10": [], "mrr@10": [], "recall@100": []}
        tops: list[list[str]] = []
        for query in queries:
            relevant = qrels.get(query.id, {})
            top = [h.doc_id for h in searcher.search(query.text, k=10, mode=mode)]
            deep = [h.doc_id for h in searcher.search(query.text, k=100, mode=mode)]
            scores["ndcg@10"].append(ndcg_at(top, relevant, 10))
            scores["mrr@10"].append(mrr_at(top, relevant, 10))
            scores["recall@100"].append(recall_at(deep, relevant, 100))
            tops.append(top)
        result.scores[mode], result.top10[mode] = scores, tops
        print(f"  {result.level:<6} {mode:<7} nDCG@10 {mean(scores['ndcg@10']):.3f}  MRR@10 "
              f"{mean(scores['mrr@10']):.3f}  R@100 {mean(scores['recall@100']):.3f}", flush=True)


def run_sweep(searcher: Any, queries: list[Query], qrels: dict[str, dict[str, float]], result: LevelResult) -> None:
    """Score every grid setting on every query, from candidates fetched once per query."""
    snapshot, embedder = searcher.snapshot, searcher.embedder
    doc_of = chunk_documents(snapshot.catalog)
    settings = grid()
    per_setting: dict[Setting, dict[str, list[float]]] = {s: {"ndcg@10": [], "mrr@10": []} for s in settings}
    agree = 0
    for i, query in enumerate(queries):
        vector = embedder.embed([query.text])[0]
        cands = fetch_candidates(searcher, vector, query.text, SWEEP_DEPTH)
        relevant = qrels.get(query.id, {})
        for setting in settings:
            top = setting.rank(cands, doc_of, 10)
            per_setting[setting]["ndcg@10"].append(ndcg_at(top, relevant, 10))
            per_setting[setting]["mrr@10"].append(mrr_at(top, relevant, 10))
        shipped = shipped_setting().rank(cands, doc_of, 10)
        agree += shipped == result.top10.get("hybrid", [shipped] * len(queries))[i]
    result.sweep = per_setting
    result.agree = agree
    print(f"  {result.level}: replaying the shipped fusion reproduces Searcher.search's top 10 "
          f"for {agree}/{len(queries)} queries", flush=True)


def shipped_setting() -> Setting:
    """The Searcher's default fusion (``app.settings.SearchOptions``) as a sweep setting."""
    from app.settings import SearchOptions

    o = SearchOptions()
    if o.fusion == "convex":
        return Setting("convex", (("alpha", o.alpha), ("pool", o.candidates)))
    return Setting("rrf", (("rrf_k", o.rrf_k), ("dense_weight", o.dense_weight),
                           ("lexical_weight", o.lexical_weight), ("pool", o.candidates)))


def evaluate_level(data: Path, level: str, queries: list[Query], embedder: CachedEmbedder, sweep: bool) -> LevelResult:
    """Ingest one StackFAQ level into a temporary index and evaluate it."""
    qrels = faq_qrels(data, level)
    with tempfile.TemporaryDirectory(prefix=f"bench-faq-{level}-") as tmp:
        source = write_stackfaq(data, level, Path(tmp) / "src")
        with timer() as t:
            summary = ingest_or_fail([source], Path(tmp) / "index", embedder)
        searcher = open_searcher(Path(tmp) / "index", embedder)
        chunks = searcher.snapshot.catalog.counts()["chunks"]
        print(f"StackFAQ {level}: {summary.documents_new} documents, {chunks} chunks "
              f"(ingest {t['s']:.0f} s, {summary.chunks_embedded} embedded)", flush=True)
        embedder.embed([q.text for q in queries])  # warm the cache in batches
        result = LevelResult(level, summary.documents_new, chunks)
        run_modes(searcher, queries, qrels, result)
        if sweep:
            run_sweep(searcher, queries, qrels, result)
        searcher.snapshot.close()
    return result


def faq_table(results: list[LevelResult]) -> str:
    """Dense, lexical and hybrid side by side, per level."""
    rows = []
    for r in results:
        for mode in MODES:
            s = r.scores[mode]
            rows.append((r.level, mode, mean(s["ndcg@10"]), mean(s["mrr@10"]), mean(s["recall@100"])))
    return table(["level", "mode", "nDCG@10", "MRR@10", "Recall@100"], rows)


def faq_verdicts(results: list[LevelResult]) -> list[str]:
    """Whether hybrid reaches the better single mode, with a paired test, per level."""
    lines = []
    for r in results:
        best = max(("dense", "lexical"), key=lambda m: mean(r.scores[m]["ndcg@10"]))
        test = paired(r.scores["hybrid"]["ndcg@10"], r.scores[best]["ndcg@10"])
        ok = test.mean_diff >= 0
        lines.append(
            f"- {r.level} level: hybrid - {best} = {test.mean_diff:+.3f} nDCG@10 ({test.wins} queries better, "
            f"{test.losses} worse, {test.ties} equal; paired randomisation p = {test.p_value:.3f}): "
            f"{'meets' if ok else 'MISSES'} the target hybrid >= best single mode"
        )
    return lines


# --------------------------------------------------------------------------- sweep and held-out


def family_best(
    results: list[LevelResult], family: str, idx: Sequence[int] | None = None, top: int = 1,
) -> list[tuple[Setting, float]]:
    """The ``top`` settings of a family by nDCG@10 averaged over the levels (on queries ``idx``)."""
    def score(setting: Setting) -> float:
        return mean(mean(pick(r.sweep[setting]["ndcg@10"], idx)) for r in results)

    ranked = sorted((s for s in results[0].sweep if s.family == family), key=lambda s: (-score(s), s.label()))
    return [(s, score(s)) for s in ranked[:top]]


def pick(values: Sequence[float], idx: Sequence[int] | None) -> list[float]:
    """``values`` at ``idx`` (all of them when None)."""
    return list(values) if idx is None else [values[i] for i in idx]


FAMILIES = ("dense", "lexical", "rrf", "doc-rrf", "convex", "doc-convex")


def sweep_report(results: list[LevelResult]) -> str:
    """The best settings of each family on all queries, and where the shipped one stands,
    each compared with dense alone (paired randomisation test on nDCG@10)."""
    rows = []
    for family in FAMILIES:
        for setting, _ in family_best(results, family, top=1 if family in ("dense", "lexical") else 3):
            rows.append(sweep_row(results, setting, None))
    rows.append(sweep_row(results, shipped_setting(), None, note=" (shipped default)"))
    headers = ["setting", *(f"{r.level} nDCG@10" for r in results), *(f"{r.level} MRR@10" for r in results),
               *(f"{r.level} vs dense: diff (p)" for r in results)]
    return table(headers, rows)


def sweep_row(results: list[LevelResult], setting: Setting, idx: Sequence[int] | None, note: str = "") -> tuple:
    """A table row: the setting's nDCG@10 and MRR@10 on each level (on queries ``idx``) and
    its nDCG@10 difference to dense alone, with the paired test's p-value."""
    dense = Setting("dense", (("pool", 100),))
    diffs = []
    for r in results:
        test = paired(pick(r.sweep[setting]["ndcg@10"], idx), pick(r.sweep[dense]["ndcg@10"], idx))
        diffs.append(f"{test.mean_diff:+.4f} ({test.p_value:.2f})")
    return (
        setting.label() + note,
        *(mean(pick(r.sweep[setting]["ndcg@10"], idx)) for r in results),
        *(mean(pick(r.sweep[setting]["mrr@10"], idx)) for r in results),
        *diffs,
    )


def print_grid(results: list[LevelResult]) -> None:
    """Every setting of the sweep, to stdout, best first."""
    print("\nsweep (all queries), nDCG@10 / MRR@10 per level:")
    settings = sorted(results[0].sweep, key=lambda s: -mean(mean(r.sweep[s]["ndcg@10"]) for r in results))
    for setting in settings:
        cells = "  ".join(f"{r.level} {mean(r.sweep[setting]['ndcg@10']):.4f}/{mean(r.sweep[setting]['mrr@10']):.4f}"
                          for r in results)
        print(f"  {setting.label():<55} {cells}")


def heldout_report(results: list[LevelResult], queries: list[Query]) -> str:
    """Tune each family on one paraphrase group, report on the other, both ways round."""
    groups = sorted({q.group for q in queries})
    rows = []
    for tune in groups:
        test = [i for i, q in enumerate(queries) if q.group != tune]
        tune_idx = [i for i, q in enumerate(queries) if q.group == tune]
        split = f"{tune} -> {'/'.join(str(g) for g in groups if g != tune)}"
        for family in FAMILIES:
            setting, tuned = family_best(results, family, tune_idx)[0]
            row = sweep_row(results, setting, test)
            rows.append((split, family, setting.label(),
                         tuned, *row[1:]))
        shipped = sweep_row(results, shipped_setting(), test)
        rows.append((split, "shipped", shipped_setting().label(), "-", *shipped[1:]))
    return table(["tune -> test group", "family", "chosen on tune half", "tune nDCG@10 (mean of levels)",
                  *(f"test {r.level} nDCG@10" for r in results), *(f"test {r.level} MRR@10" for r in results),
                  *(f"test {r.level} vs dense: diff (p)" for r in results)], rows)


# --------------------------------------------------------------------------- expert finding


POPULARITY = "popularity (answers before the cut)"
OURS = "suggest_experts, hybrid hits"
DENSE = "suggest_experts, dense hits"


@dataclass
class ExpertTask:
    """A time-split expert-finding task."""

    quantile: float
    cut: datetime
    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    answer_counts: Counter[str]
    qrels: dict[str, dict[str, float]]
    skipped: int = 0


@dataclass
class ExpertResult:
    """Per-question scores of every system on one time split."""

    task: ExpertTask
    threads: int
    chunks: int
    hits: int
    scores: dict[str, dict[str, list[float]]]


def expert_task(data: Path, quantile: float) -> ExpertTask:
    """Split cardano threads at the date by which ``quantile`` of the questions were asked;
    keep the later questions with at least one answerer known before the cut."""
    folder = data / "stackexchange-cardano"
    threads = sorted(read_jsonl(folder / "threads.jsonl"), key=lambda t: t["question"]["created"])
    cut = parse_when(threads[int(len(threads) * quantile)]["question"]["created"])
    train = [t for t in threads if parse_when(t["question"]["created"]) < cut]
    counts: Counter[str] = Counter(
        a["author"] for t in train for a in t["answers"] if parse_when(a["created"]) < cut and a.get("author")
    )
    qrels = read_qrels(folder / "expert_qrels.tsv")
    later = [t for t in threads if parse_when(t["question"]["created"]) >= cut]
    test = [t for t in later if any(m in counts for m in qrels.get(t["thread_id"], {}))]
    return ExpertTask(quantile, cut, train, test, counts, qrels, skipped=len(later) - len(test))


def question_text(thread: dict[str, Any]) -> str:
    """What is searched for a question: its title and body."""
    return f"{thread['title']}\n{thread['question']['text']}"


def expert_hits() -> int:
    """How many chunk hits the product gives ``suggest_experts`` (50 if it does not say)."""
    from retrieval import experts

    return int(getattr(experts, "EXPERT_HITS", 50))


def rank_experts(searcher: Any, hits: list[Any], thread: dict[str, Any], k: int) -> list[str]:
    """Member ids suggested for a question from its hits (asker removed), best first."""
    from retrieval.experts import suggest_experts

    question = thread["question"]
    experts = suggest_experts(hits, searcher.snapshot.catalog, k=k + 1, now=parse_when(question["created"]))
    return [e.member_id for e in experts if e.member_id != question.get("author")][:k]


def popularity(task: ExpertTask, asker: str | None, k: int) -> list[str]:
    """The baseline: the most active answerers before the cut (asker removed)."""
    ranked = sorted(task.answer_counts, key=lambda m: (-task.answer_counts[m], m))
    return [m for m in ranked if m != asker][:k]


def expert_scores(rankings: list[list[str]], task: ExpertTask) -> dict[str, list[float]]:
    """MRR@10, P@1 and nDCG@3 per question."""
    out: dict[str, list[float]] = {"mrr@10": [], "p@1": [], "ndcg@3": []}
    for ranked, thread in zip(rankings, task.test, strict=True):
        relevant = task.qrels[thread["thread_id"]]
        out["mrr@10"].append(mrr_at(ranked, relevant, 10))
        out["p@1"].append(precision_at(ranked, relevant, 1))
        out["ndcg@3"].append(ndcg_at(ranked, relevant, 3))
    return out


def evaluate_split(data: Path, quantile: float, embedder: CachedEmbedder) -> ExpertResult:
    """Index the threads before the cut, ask the later questions, score every system."""
    task = expert_task(data, quantile)
    depth = expert_hits()
    with tempfile.TemporaryDirectory(prefix="bench-experts-") as tmp:
        src = Path(tmp) / "src"
        write_jsonl((cardano_thread(t, before=task.cut) for t in task.train), src / "cardano-train.jsonl")
        write_jsonl(cardano_members(data), src / "members.jsonl")
        with timer() as t:
            summary = ingest_or_fail([src], Path(tmp) / "index", embedder)
        chunks = summary.chunks_embedded + summary.chunks_reused
        print(f"cardano split {quantile:.0%}: {summary.documents_new} threads, {chunks} chunks "
              f"(ingest {t['s']:.0f} s), {len(task.test)} questions", flush=True)
        searcher = open_searcher(Path(tmp) / "index", embedder)
        embedder.embed([question_text(x) for x in task.test])
        rankings = {POPULARITY: [popularity(task, x["question"].get("author"), 10) for x in task.test]}
        for name, mode in ((OURS, "hybrid"), (DENSE, "dense")):
            rankings[name] = [
                rank_experts(searcher, searcher.search(question_text(x), k=depth, collapse=False, mode=mode), x, 10)
                for x in task.test
            ]
        searcher.snapshot.close()
    scores = {name: expert_scores(r, task) for name, r in rankings.items()}
    for name, s in scores.items():
        print(f"  {name:<40} MRR {mean(s['mrr@10']):.3f}  P@1 {mean(s['p@1']):.3f}  nDCG@3 {mean(s['ndcg@3']):.3f}")
    return ExpertResult(task, summary.documents_new, chunks, depth, scores)


def experts_section(results: list[ExpertResult], main_cut: float) -> str:
    """The expert-finding part of the Markdown section."""
    rows, lines = [], []
    for r in results:
        n_after = len(r.task.test) + r.task.skipped
        for name, s in r.scores.items():
            rows.append((f"{r.task.quantile:.0%} ({r.task.cut:%Y-%m-%d})", f"{r.threads} / {r.chunks}",
                         f"{len(r.task.test)} of {n_after}", name, mean(s["mrr@10"]), mean(s["p@1"]),
                         mean(s["ndcg@3"])))
        base, ours = mean(r.scores[POPULARITY]["mrr@10"]), mean(r.scores[OURS]["mrr@10"])
        test = paired(r.scores[OURS]["mrr@10"], r.scores[POPULARITY]["mrr@10"])
        marker = " (main split)" if r.task.quantile == main_cut else ""
        lines.append(
            f"- cut {r.task.quantile:.0%}{marker}: MRR suggest_experts / popularity = **{ours / base:.2f}x** "
            f"(target >= 1.3x: {'meets' if ours >= 1.3 * base else 'MISSES'}); paired randomisation "
            f"p = {test.p_value:.3f} ({test.wins} questions better, {test.losses} worse, {test.ties} equal)"
        )
    return "\n".join([
        "### Expert finding: cardano.stackexchange, time split\n",
        "For each cut (the date by which that share of the 1,042 questions had been asked) the earlier threads "
        "are indexed with only the answers written before the cut; the later questions with at least one "
        "answerer who had also answered before the cut are asked (the others cannot be answered by any "
        f"method that learns from the past). Query = title + body; hits = `Searcher.search(k={results[0].hits}, "
        "collapse=False)` (`retrieval.experts.EXPERT_HITS`) with the default fusion; ranking = "
        "`retrieval.experts.suggest_experts(hits, db, now=question date)`; the asker is removed from every "
        "ranking. Relevance from `expert_qrels.tsv`: 2 = accepted answer, 1 = other answer. Cuts other than "
        f"the main one ({main_cut:.0%}) check that the figure does not depend on one split.\n",
        table(["cut", "index threads / chunks", "questions asked", "system", "MRR@10", "P@1", "nDCG@3"], rows),
        "",
        *lines,
    ])


# --------------------------------------------------------------------------- main


def faq_section(results: list[LevelResult], queries: list[Query], sweep: bool, heldout: bool) -> str:
    """The StackFAQ part of the Markdown section."""
    parts = [
        "### StackFAQ (Karan & Šnajder, ESWA 91, 2018)\n",
        "Native threads built from `../shared/data/stackfaq` at run time. StackFAQ gives each question only as "
        "a title: the question post's text is that title, each answer is a reply post. Thread level: one "
        "document per thread (question + all its answers); answer level (the paper's setup): one document per "
        "(question, answer) pair. "
        f"{len(queries)} queries; "
        + ", ".join(f"{r.level} level {r.documents} documents / {r.chunks} chunks" for r in results)
        + ". Real `Searcher.search` with the default settings (`app.settings.SearchOptions`: "
        f"{shipped_setting().label()}), `collapse=True` (one hit per document); nDCG@10 and MRR@10 from k=10, "
        "Recall@100 from k=100.\n",
        faq_table(results),
        "",
        *faq_verdicts(results),
    ]
    if sweep:
        parts += [
            "\n#### Fusion sweep (all queries; `--sweep`)\n",
            "Offline, from each query's dense and FTS5 candidates (`bench/fusion.py`). `rrf` and `convex` are "
            "the product's fusers (`retrieval.fusion`) in the Searcher's own loop (fuse the chunk lists, cut to "
            "the pool, grow the pool until the page is full, collapse per document); the replay of the shipped "
            "setting reproduces `Searcher.search`'s top 10 for "
            + ", ".join(f"{r.agree}/{len(queries)} {r.level}-level queries" for r in results)
            + ". `doc-rrf` and `doc-convex` are prototypes that fuse at document level (each list collapsed to its "
            "documents' best chunk first). `convex` = alpha * dense + (1 - alpha) * BM25 on per-query min-max "
            "normalised scores. Best three settings of each family by nDCG@10 averaged over both levels (the full "
            "grid is printed to stdout), each compared with dense alone (difference in nDCG@10, p-value of a "
            "paired randomisation test):\n",
            sweep_report(results),
        ]
    if heldout:
        parts += [
            "\n#### Held-out check (`--heldout`)\n",
            "Each family's setting is chosen on the queries of one `paraphrase_group` (the two halves of "
            "each thread's paraphrases) and scored on the other group:\n",
            heldout_report(results, queries),
        ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the evaluations, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--sweep", action="store_true", help="evaluate a grid of fusion settings")
    parser.add_argument("--heldout", action="store_true", help="tune on one paraphrase group, test on the other")
    parser.add_argument("--skip-faq", action="store_true")
    parser.add_argument("--skip-experts", action="store_true")
    parser.add_argument("--cuts", default="0.7,0.5,0.85",
                        help="time splits, as shares of questions before the cut; the first is the main one")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    data = data_dir(args.data)
    embedder = CachedEmbedder(load_model())
    flags = " ".join(f for f, on in (("--sweep", args.sweep), ("--heldout", args.heldout)) if on)
    parts = [section_header("Retrieval and expert-finding quality (issue 3)",
                            f".venv/bin/python bench/quality.py {flags}".strip())]
    with timer() as total:
        if not args.skip_faq:
            queries = faq_queries(data)
            results = [evaluate_level(data, level, queries, embedder, args.sweep or args.heldout) for level in LEVELS]
            if args.sweep or args.heldout:
                print_grid(results)
            parts.append(faq_section(results, queries, args.sweep, args.heldout))
        if not args.skip_experts:
            cuts = [float(c) for c in args.cuts.split(",")]
            parts.append(experts_section([evaluate_split(data, c, embedder) for c in cuts], cuts[0]))
    parts.append(f"\nRun time {total['s'] / 60:.1f} min ({embedder.computed} texts embedded, the rest from the cache).")
    text = "\n\n".join(part.strip("\n") for part in parts)
    print(text)
    if not args.no_write and not (args.skip_faq or args.skip_experts):
        write_section("quality", text)


if __name__ == "__main__":
    main()
