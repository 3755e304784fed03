"""The ``sparse`` lexical index against FTS5 (issue 11, parts 4 and 8): retrieval quality with
the same search settings on every forum dev set (``bench/forum_sets.py``: StackFAQ thread and
answer level, SemEval-2015, cardano question-answer and question-question), each indexed by
the real ingest pipeline (FTS5) with the sparse index built beside it from the catalog's
chunk texts (``--peers``: the indexes ``bench/peers.py`` built), searched with the real
``Searcher`` (shipped defaults, k=100, collapsed) in lexical and in hybrid mode. nDCG@10,
MRR@10, Recall@100, the paired randomisation test of the per-query nDCG@10 difference
(sparse - fts5), and the seconds the sparse index took to build.

    nice -n 19 .venv/bin/python bench/sparse_quality.py [--sets a,b] [--modes lexical,hybrid]
        [--max-queries N] [--out NAME] --no-write
    .venv/bin/python bench/sparse_quality.py --report peers,forum

``--report`` writes the ``sparse-bm25`` section of docs/benchmarks.md from the saved results
(``var/sparse-quality/<NAME>.json``) and the latency run of the ``-sparse`` systems
(``bench/peers_latency.py --systems ... --results var/sparse-latency``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    CachedEmbedder,
    data_dir,
    index_dir,
    ingest_or_fail,
    paired,
    section_header,
    table,
    write_section,
)
from bench.forum_sets import NAMES, build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "var" / "sparse-quality"
LATENCY = ROOT.parent / "sparse-latency" / "latency-100000.json"
BUILD = ROOT.parent / "sparse-beside" / "grown-100000" / "build.json"
BACKENDS = {"fts5": "sqlite-faiss", "sparse": "sqlite-sparse-faiss"}
MODES = ("lexical", "hybrid")


def evaluate(name: str, data: Path, embedder: CachedEmbedder, modes: tuple[str, ...] = MODES,
             max_queries: int = 0) -> dict[str, Any]:
    """Both lexical sides on forum dev set ``name``, ingested once by the real pipeline (the
    default backend) into ``var/sparse-quality/<name>/index``."""
    dev = build(name, data, ROOT / name)
    dev.queries = {q: v for q, v in dev.queries.items() if any(g > 0 for g in dev.qrels.get(q, {}).values())}
    if max_queries and len(dev.queries) > max_queries:  # spread over the set, as forum_quality does
        keys = list(dev.queries)
        dev.queries = {keys[int(i * len(keys) / max_queries)]: dev.queries[keys[int(i * len(keys) / max_queries)]]
                       for i in range(max_queries)}
    qrels = {q: {d: int(g) for d, g in dev.qrels[q].items()} for q in dev.queries}
    index = ROOT / name / f"index-{embedder.model_id}"
    start = time.perf_counter()
    ingest_or_fail([dev.sources], index, embedder)
    print(name, f"ingested in {time.perf_counter() - start:.0f} s", flush=True)
    snapshot = index_dir(index).open(embedder.model_id)
    skip = dict.fromkeys(dev.queries) if dev.exclude_self else {}
    return compare_sides(name, snapshot, {q: dev.text(q) for q in dev.queries}, qrels, embedder, modes, skip)


def evaluate_peers(name: str, embedder: CachedEmbedder, modes: tuple[str, ...]) -> dict[str, Any]:
    """Both lexical sides on the index ``bench/peers.py`` built for dataset ``name`` (opened
    read-only), with that run's queries and qrels."""
    from bench.peers import ROOT as PEERS
    from retrieval.index import IndexDir

    task = json.loads((PEERS / name / "task.json").read_text())
    qrels = {q: {d: int(g) for d, g in rel.items()} for q, rel in task["qrels"].items()
             if any(g > 0 for g in rel.values())}
    queries = {q: t for q, t in task["queries"].items() if q in qrels}
    snapshot = IndexDir(PEERS / name / "index").open(embedder.model_id)
    return compare_sides(name, snapshot, queries, qrels, embedder, modes, {})


def compare_sides(name: str, snapshot: Any, queries: dict[str, str], qrels: dict[str, dict[str, int]],
                  embedder: Any, modes: tuple[str, ...], skip: dict[str, None]) -> dict[str, Any]:
    """FTS5 (the snapshot's own lexical index) and the sparse index built beside it from its
    catalog's chunk texts (as the latency run does), each searched by the real ``Searcher``
    (shipped defaults, k=100, collapsed; a query id in ``skip`` never finds its own document)
    in each of ``modes``: means and per-query nDCG@10 per (side, mode)."""
    from app.settings import SearchOptions
    from bench.peer_systems import sparse_beside
    from retrieval.evaluation import RETRIEVAL_MEASURES, mean_scores, per_query
    from retrieval.search import Searcher

    out: dict[str, Any] = {"set": name, "queries": len(queries), "ingest_s": {}}
    start = time.perf_counter()
    sides = {"fts5": snapshot.lexical, "sparse": sparse_beside(snapshot, ROOT / f"{name}-beside")}
    out["ingest_s"]["sparse"] = time.perf_counter() - start
    for label, lexical in sides.items():
        snapshot.lexical = lexical
        for mode in modes:
            searcher = Searcher(snapshot, embedder, **SearchOptions().model_dump())
            run = {}
            for q, text in queries.items():
                docs = [h.doc_id for h in searcher.search(text, k=101, collapse=True, mode=mode)]  # type: ignore[arg-type]
                run[q] = [d for d in docs if q not in skip or d != q][:100]
            values = per_query(qrels, run, RETRIEVAL_MEASURES)
            out[f"{label} {mode}"] = {"means": mean_scores(values), "ndcg": values["nDCG@10"]}
            print(name, label, mode, {k: round(v, 4) for k, v in mean_scores(values).items()}, flush=True)
    return out


def latency_table() -> str:
    """p50 / p95 ms per system, query kind and caller, of the saved latency run."""
    if not LATENCY.exists():
        return "(no latency run saved)"
    run = json.loads(LATENCY.read_text())
    rows = []
    for system, result in run["systems"].items():
        for row in result["rows"]:
            ms = sorted(row["ms"])
            rows.append((system, row["kind"], row["caller"], f"{ms[len(ms) // 2]:.1f}",
                         f"{ms[int(len(ms) * 0.95)]:.1f}", f"{result['load']:.1f}"))
    head = (f"Latency in process at {run['chunks']:,} chunks ({run['private_share']:.0%} private), "
            f"page k={run['page']}, dense vectors `{run.get('vector_kind', 'flat')}`, `{run['command']}`, "
            f"{run['run']}; each system timed alone "
            "under the machine-wide lock (load = 1-min load average when its timing started).\n\n")
    build = ""
    if BUILD.exists():
        facts = json.loads(BUILD.read_text())
        build = (f"\n\nSparse index of those {facts['chunks']:,} chunks built from the catalog's chunk texts "
                 "(`bench/peer_systems.sparse_beside`, the builder an ingest uses): "
                 f"{facts['build_s']:.1f} s ({facts['read_s']:.1f} s of it reading the texts), {facts['terms']:,} "
                 f"terms, {facts['postings']:,} postings.")
    return head + table(["system", "query", "caller", "p50 ms", "p95 ms", "load"], rows) + build


def section(rows: list[dict[str, Any]], command: str) -> str:
    """The ``sparse-bm25`` section of docs/benchmarks.md."""
    lines = []
    for row in rows:
        for mode in [m for m in MODES if f"fts5 {m}" in row]:
            fts5, sparse = row[f"fts5 {mode}"], row[f"sparse {mode}"]
            queries = sorted(fts5["ndcg"])
            test = paired([sparse["ndcg"][q] for q in queries], [fts5["ndcg"][q] for q in queries])
            lines.append((row["set"], mode, row["queries"], fts5["means"]["nDCG@10"], sparse["means"]["nDCG@10"],
                          f"{test.mean_diff:+.4f}", f"{test.wins}/{test.losses}/{test.ties}", f"{test.p_value:.3f}",
                          fts5["means"]["MRR@10"], sparse["means"]["MRR@10"],
                          fts5["means"]["Recall@100"], sparse["means"]["Recall@100"]))
    headers = ["set", "mode", "queries", "nDCG@10 fts5", "nDCG@10 sparse", "diff", "wins/losses/ties", "p",
               "MRR@10 fts5", "MRR@10 sparse", "R@100 fts5", "R@100 sparse"]
    ingest = table(["set", "sparse index build s"], [(r["set"], f"{r['ingest_s']['sparse']:.1f}") for r in rows])
    return (section_header("Sparse BM25 (`sqlite-sparse-faiss`) vs FTS5 (`sqlite-faiss`)", command)
            + "\nThe `sparse` lexical index (BM25 precomputed per term and chunk in memory-mapped arrays, "
            "`retrieval/backends/sparse_bm25.py`) against FTS5's bm25(): the same analysis (checked against FTS5's "
            "own tokenizer), the same BM25 constants and the same query-word choice, without FTS5's posting "
            "budget. Opt-in (`TOWNSQUARE_BACKEND=sqlite-sparse-faiss`): an index keeps the backend it was built "
            "with, so changing the default would stop incremental ingests into existing indexes.\n"
            + "\nQuality: same search settings (shipped defaults), k=100 collapsed; diff = sparse - fts5 (per-query "
            "nDCG@10, paired randomisation test).\n\n" + table(headers, lines) + "\n\nSparse index built from "
            "each snapshot's chunk texts (under nice, on a loaded machine):\n\n" + ingest + "\n\n"
            + latency_table() + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(NAMES))
    parser.add_argument("--data")
    parser.add_argument("--modes", default=",".join(MODES), help="search modes compared")
    parser.add_argument("--max-queries", type=int, default=0, help="queries per set, spread over it (0: all)")
    parser.add_argument("--out", default="results", help="name of the results file under var/sparse-quality")
    parser.add_argument("--peers", action="store_true", help="use bench/peers.py's indexes of --sets "
                        "(semeval2015, stackfaq-thread, stackfaq-answer) instead of ingesting twice")
    parser.add_argument("--hashed", action="store_true", help="hashed bag-of-words vectors instead of the "
                        "model (for --modes lexical only: its ranking does not use vectors)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--report", help="saved results to merge (e.g. lexical,hybrid) into the docs section")
    args = parser.parse_args(argv)
    if args.hashed and args.modes != "lexical":
        parser.error("--hashed measures --modes lexical only")
    if args.report:
        merged: dict[str, dict[str, Any]] = {}
        for name in args.report.split(","):
            for row in json.loads((ROOT / f"{name}.json").read_text()):
                merged.setdefault(row["set"], {}).update({k: v for k, v in row.items() if k != "ingest_s"})
                merged[row["set"]].setdefault("ingest_s", row["ingest_s"])
        text = section(list(merged.values()), "python bench/sparse_quality.py --report " + args.report)
        print(text)
        if not args.no_write:
            write_section("sparse-bm25", text)
        return
    data = data_dir(args.data)
    if args.hashed:  # lexical mode ranks without vectors: no model time for sets not yet embedded
        from bench.peers_latency import HashedVectors

        embedder: Any = HashedVectors()
    else:
        from bench.peer_systems import SharedVectors

        embedder = SharedVectors().cached  # the torch model's vectors, which the shared cache holds
    rows = []
    for name in args.sets.split(","):
        modes = tuple(args.modes.split(","))
        rows.append(evaluate_peers(name, embedder, modes) if args.peers
                    else evaluate(name, data, embedder, modes, args.max_queries))
        ROOT.mkdir(parents=True, exist_ok=True)
        (ROOT / f"{args.out}.json").write_text(json.dumps(rows))
    command = "python bench/sparse_quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = section(rows, command)
    print(text)
    if not args.no_write:
        write_section("sparse-bm25", text)


if __name__ == "__main__":
    main()
