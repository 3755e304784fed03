"""The storage backends side by side on the same data in the same run (issue 8): StackFAQ
quality per backend and search mode, and in-process search latency.

Each StackFAQ level is ingested once per backend through the real pipeline (embeddings come
from the shared on-disk cache, so both backends index identical vectors); every query is
searched once per mode with k=100 — nDCG@10 and MRR@10 read its first ten documents, Recall@100
all of them — and timed. ``--every N`` keeps every N-th query (a busy machine); the figures say
how many were asked.

    .venv/bin/python bench/backends.py [--backends sqlite-faiss,milvus] [--every 1] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: the repository, not bench/, goes first on the path
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    CachedEmbedder,
    data_dir,
    index_dir,
    ingest_or_fail,
    load_model,
    mean,
    mrr_at,
    ndcg_at,
    read_jsonl,
    recall_at,
    section_header,
    table,
    timer,
    use_backend,
    write_section,
    write_stackfaq,
)
from bench.quality import LEVELS, MODES, faq_qrels  # noqa: E402


def evaluate(data: Path, level: str, backend: str, queries: list[dict[str, Any]], embedder: CachedEmbedder) -> list:
    """Rows (level, backend, mode, nDCG@10, MRR@10, Recall@100, p50 ms, p95 ms) for one index."""
    from app.settings import SearchOptions
    from retrieval.search import Searcher

    use_backend(backend)
    qrels = faq_qrels(data, level)
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"bench-backends-{backend}-") as tmp:
        source = write_stackfaq(data, level, Path(tmp) / "src")
        ingest_or_fail([source], Path(tmp) / "index", embedder)
        snapshot = index_dir(Path(tmp) / "index").open(embedder.model_id)
        try:
            searcher = Searcher(snapshot, embedder, **SearchOptions().model_dump())
            searcher.search("warm up", k=10)
            for mode in MODES:
                scores: dict[str, list[float]] = {"ndcg": [], "mrr": [], "recall": []}
                millis: list[float] = []
                for query in queries:
                    started = time.perf_counter()
                    ranked = [h.doc_id for h in searcher.search(query["text"], k=100, mode=mode)]
                    millis.append((time.perf_counter() - started) * 1000)
                    relevant = qrels.get(query["id"], {})
                    scores["ndcg"].append(ndcg_at(ranked[:10], relevant, 10))
                    scores["mrr"].append(mrr_at(ranked[:10], relevant, 10))
                    scores["recall"].append(recall_at(ranked, relevant, 100))
                p95 = statistics.quantiles(millis, n=20)[18] if len(millis) > 1 else millis[0]
                rows.append((level, backend, mode, mean(scores["ndcg"]), mean(scores["mrr"]), mean(scores["recall"]),
                             statistics.median(millis), p95))
                print(*rows[-1], flush=True)
        finally:
            snapshot.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, evaluate every backend on both levels, print and record."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--backends", default="sqlite-faiss,milvus")
    parser.add_argument("--every", type=int, default=1, help="keep every N-th query")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    data = data_dir(args.data)
    embedder = CachedEmbedder(load_model())
    queries = read_jsonl(data / "stackfaq" / "queries.jsonl")[:: args.every]
    backends = args.backends.split(",")
    with timer() as total:
        rows = [row for level in LEVELS for backend in backends for row in evaluate(data, level, backend, queries,
                                                                                    embedder)]
    body = "\n".join([
        section_header("Storage backends side by side (issue 8)",
                       f".venv/bin/python bench/backends.py --backends {args.backends} --every {args.every}"),
        f"StackFAQ, {len(queries)} of the 1,249 queries (every {args.every}), same cached embeddings in every "
        "index; one search per query and mode with k=100 (nDCG and MRR from its first ten documents); "
        "latency in process, including the query embedding.\n",
        table(["level", "backend", "mode", "nDCG@10", "MRR@10", "Recall@100", "p50 ms", "p95 ms"],
              [(lv, b, m, f"{n:.3f}", f"{r:.3f}", f"{c:.3f}", f"{p:.1f}", f"{q:.1f}") for lv, b, m, n, r, c, p, q
               in rows]),
        f"\nRun time {total['s'] / 60:.1f} min.",
    ])
    print(body)
    if not args.no_write:
        write_section("backends", body)


if __name__ == "__main__":
    main()
