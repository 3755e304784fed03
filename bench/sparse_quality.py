"""The ``sparse`` lexical index against FTS5 (issue 11, parts 4 and 8): retrieval quality with
the same search settings on every forum dev set (``bench/forum_sets.py``: StackFAQ thread and
answer level, SemEval-2015, cardano question-answer and question-question), each indexed by
the real ingest pipeline once per backend (``sqlite-faiss`` and ``sqlite-sparse-faiss``),
searched with the real ``Searcher`` (shipped defaults, k=100, collapsed) in lexical and in
hybrid mode. nDCG@10, MRR@10, Recall@100, and the paired randomisation test of the per-query
nDCG@10 difference (sparse - fts5). Also the seconds each backend's ingest took (embeddings
come from the shared cache, so that is chunking, writing and the lexical index).

    nice -n 19 .venv/bin/python bench/sparse_quality.py [--sets a,b] [--modes lexical,hybrid]
        [--max-queries N] [--out NAME] --no-write
    .venv/bin/python bench/sparse_quality.py --report lexical,hybrid

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
    load_model,
    paired,
    section_header,
    table,
    use_backend,
    write_section,
)
from bench.forum_quality import searcher_run  # noqa: E402
from bench.forum_sets import NAMES, build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "var" / "sparse-quality"
LATENCY = ROOT.parent / "sparse-latency" / "latency-100000.json"
BUILD = ROOT.parent / "sparse-beside" / "grown-100000" / "build.json"
BACKENDS = {"fts5": "sqlite-faiss", "sparse": "sqlite-sparse-faiss"}
MODES = ("lexical", "hybrid")


def evaluate(name: str, data: Path, embedder: CachedEmbedder, modes: tuple[str, ...] = MODES,
             max_queries: int = 0) -> dict[str, Any]:
    """Both backends on dev set ``name``: per (backend, mode) the means and per-query nDCG@10."""
    from app.settings import SearchOptions
    from retrieval.evaluation import RETRIEVAL_MEASURES, mean_scores, per_query
    from retrieval.search import Searcher

    dev = build(name, data, ROOT / name)
    dev.queries = {q: v for q, v in dev.queries.items() if any(g > 0 for g in dev.qrels.get(q, {}).values())}
    if max_queries and len(dev.queries) > max_queries:  # spread over the set, as forum_quality does
        keys = list(dev.queries)
        dev.queries = {keys[int(i * len(keys) / max_queries)]: dev.queries[keys[int(i * len(keys) / max_queries)]]
                       for i in range(max_queries)}
    qrels = {q: {d: int(g) for d, g in dev.qrels[q].items()} for q in dev.queries}
    out: dict[str, Any] = {"set": name, "queries": len(dev.queries), "ingest_s": {}}
    for label, backend in BACKENDS.items():
        use_backend(backend)
        folder = ROOT / name / f"index-{label}"
        start = time.perf_counter()
        ingest_or_fail([dev.sources], folder, embedder)
        out["ingest_s"][label] = time.perf_counter() - start
        snapshot = index_dir(folder).open(embedder.model_id)
        options = SearchOptions().model_dump()
        for mode in modes:
            searcher = Searcher(snapshot, embedder, **options)
            plain = searcher.search
            searcher.search = lambda text, k=10, plain=plain, mode=mode: plain(text, k=k, mode=mode)  # type: ignore[method-assign]
            values = per_query(qrels, searcher_run(searcher, dev), RETRIEVAL_MEASURES)
            out[f"{label} {mode}"] = {"means": mean_scores(values), "ndcg": values["nDCG@10"]}
            print(name, label, mode, {k: round(v, 4) for k, v in mean_scores(values).items()}, flush=True)
        snapshot.close()
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
            rows.append((system, row["kind"], row["caller"], round(ms[len(ms) // 2], 1),
                         round(ms[int(len(ms) * 0.95)], 1), round(result["load"], 1)))
    head = (f"Latency in process at {run['chunks']:,} chunks ({run['private_share']:.0%} private), "
            f"page k={run['page']}, `{run['command']}`, {run['run']}; each system timed alone "
            "under the machine-wide lock (load = 1-min load average when its timing started).\n\n")
    build = ""
    if BUILD.exists():
        facts = json.loads(BUILD.read_text())
        build = (f"\n\nSparse index of those {facts['chunks']:,} chunks built from the catalog's chunk texts: "
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
    ingest = table(["set", "ingest s fts5", "ingest s sparse"],
                   [(r["set"], round(r["ingest_s"]["fts5"], 1), round(r["ingest_s"]["sparse"], 1)) for r in rows])
    return (section_header("Sparse BM25 (`sqlite-sparse-faiss`) vs FTS5 (`sqlite-faiss`)", command)
            + "\nQuality: same search settings (shipped defaults), k=100 collapsed; diff = sparse - fts5 (per-query "
            "nDCG@10, paired randomisation test).\n\n" + table(headers, lines) + "\n\nIngest seconds per set "
            "(embeddings from the cache):\n\n" + ingest + "\n\n" + latency_table() + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(NAMES))
    parser.add_argument("--data")
    parser.add_argument("--modes", default=",".join(MODES), help="search modes compared")
    parser.add_argument("--max-queries", type=int, default=0, help="queries per set, spread over it (0: all)")
    parser.add_argument("--out", default="results", help="name of the results file under var/sparse-quality")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--report", help="saved results to merge (e.g. lexical,hybrid) into the docs section")
    args = parser.parse_args(argv)
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
    embedder = CachedEmbedder(load_model())
    rows = []
    for name in args.sets.split(","):
        rows.append(evaluate(name, data, embedder, tuple(args.modes.split(",")), args.max_queries))
        ROOT.mkdir(parents=True, exist_ok=True)
        (ROOT / f"{args.out}.json").write_text(json.dumps(rows))
    command = "python bench/sparse_quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = section(rows, command)
    print(text)
    if not args.no_write:
        write_section("sparse-bm25", text)


if __name__ == "__main__":
    main()
