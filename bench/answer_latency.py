"""``Library.ask`` latency with the extractive answerer at about 100k chunks (issue 12 target:
``/ask`` p50 <= 80 ms), in process: search, answer and experts, as the API's handler calls it
(no HTTP; ``bench/latency.py`` measures the HTTP path).

The index is the latency benchmark's kept ``sqlite-faiss`` index of ``--size`` chunks
(StackFAQ + cardano.stackexchange through the real pipeline, grown with noisy replicas, every
20th document private to ``mentors``), built beforehand under ``nice`` by
``bench/latency.py --build-only``. Queries: the latency benchmark's ``short`` (StackFAQ) and
``long`` (cardano title + body, 300-1,000 characters) sets, asked as an anonymous caller and as
a ``mentors`` member. The model embeds every query for real (no embedding cache). Timed runs
hold the machine's bench lock:

    flock /work/bench.lock .venv/bin/python bench/answer_latency.py [--size 100000] [--queries 50] [--no-write]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import data_dir, section_header, table, write_section  # noqa: E402
from bench.latency import CALLERS, index_path, query_sets  # noqa: E402
from bench.serving import percentile  # noqa: E402

TARGET_MS = 80.0
WARMUP = 10
BACKEND = "sqlite-faiss"
log = logging.getLogger(__name__)


def timings(index: Path, queries: dict[str, list[str]]) -> dict[tuple[str, str, str], list[float]]:
    """Milliseconds per call, keyed by (call, query kind, caller): ``Library.ask`` (extractive,
    experts included) and the search it starts with alone (k=100, uncollapsed)."""
    from retrieval.backends import BackendConfig
    from retrieval.embedding import embedder_for_index
    from retrieval.experts import EXPERT_HITS
    from retrieval.index import IndexDir
    from retrieval.library import Library

    embedder = embedder_for_index(index, None, None)  # the model the index was built with, as the API picks it
    library = Library(IndexDir(index, BackendConfig(BACKEND)), embedder)
    searcher = library.searcher()
    out: dict[tuple[str, str, str], list[float]] = {}
    for kind, texts in queries.items():
        for caller, groups in CALLERS.items():
            for q in texts[:WARMUP]:
                library.ask(q, groups=groups)
            ask, search = out.setdefault(("Library.ask", kind, caller), []), []
            for q in texts[WARMUP:]:
                start = time.perf_counter()
                library.ask(q, groups=groups)
                ask.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                searcher.search(q, k=EXPERT_HITS, collapse=False, groups=groups)
                search.append((time.perf_counter() - start) * 1000)
            out[("search (k=100, uncollapsed)", kind, caller)] = search
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--size", type=int, default=100_000, help="chunks of the kept latency index")
    parser.add_argument("--queries", type=int, default=50, help="timed queries of each kind per caller")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch

    torch.set_num_threads(1)  # as bench/latency.py: one thread is stable on a shared machine
    index = index_path(BACKEND, args.size, 20)
    if not (index / "CURRENT").exists():
        raise SystemExit(f"{index}: no kept index; run `bench/latency.py --build-only --sizes {args.size} "
                         f"--backends {BACKEND}` first")
    queries = {k: v[: args.queries + WARMUP] for k, v in query_sets(data_dir(args.data), args.queries + WARMUP).items()}
    load = os.getloadavg()[0]
    found = timings(index, queries)
    rows = [(*key, len(v), percentile(v, 50), percentile(v, 95), statistics.mean(v)) for key, v in found.items()]
    asks = [v for key, v in found.items() if key[0] == "Library.ask"]
    p50 = max(percentile(v, 50) for v in asks)
    verdict = (f"Library.ask p50, worst (query kind, caller) row: {p50:.1f} ms "
               f"(target <= {TARGET_MS:.0f}: {'meets' if p50 <= TARGET_MS else 'MISSES'})")
    headers = ["call", "queries", "caller", "n", "p50 ms", "p95 ms", "mean ms"]
    print(table(headers, rows), verdict, f"load average at start: {load:.2f}", sep="\n")
    body = "\n".join([
        section_header(f"/ask with the extractive answerer at {args.size:,} chunks, in process (issue 12)",
                       "flock /work/bench.lock python bench/answer_latency.py"),
        f"The latency benchmark's kept `{BACKEND}` index ({args.size:,} chunks, 5% of documents private to "
        f"`mentors`). {args.queries} queries of each kind (`short`: StackFAQ; `long`: cardano title + body, "
        f"300-1,000 characters) per caller after {WARMUP} warm-up calls, one at a time, the model embedding each "
        "query (no cache); torch threads: 1. `Library.ask` is what `POST /ask` runs (search, extractive answer, "
        f"experts), without HTTP. Load average at start: {load:.2f}.",
        "", table(headers, rows), "", f"- {verdict}",
    ])
    if not args.no_write:
        write_section("answer-latency", body)


if __name__ == "__main__":
    main()
