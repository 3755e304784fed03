"""``Library.ask`` latency with the extractive answerer at about 100k chunks (issue 12 target:
``/ask`` p50 <= 80 ms), in process: search, answer and experts, as the API's handler calls it
(no HTTP; ``bench/latency.py`` measures the HTTP path).

The index is grown from the latency benchmark's base index (StackFAQ + cardano.stackexchange
through the real pipeline) by :func:`bench.latency.grow` (replicas with noisy vectors), built
once under ``var/bench-cache/answer-latency`` before any timing. The model embeds every query
for real (no embedding cache). Timed runs should hold the machine's bench lock:

    .venv/bin/python bench/answer_latency.py --build-only          # under nice, no lock
    flock /work/bench.lock .venv/bin/python bench/answer_latency.py [--queries 200] [--no-write]
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

from bench.common import CACHE_DIR, CachedEmbedder, data_dir, section_header, table, write_section  # noqa: E402
from bench.latency import BASE_INDEX, build_base, grow, percentile, pick_queries  # noqa: E402

GROWN = CACHE_DIR / "answer-latency"
TARGET_MS = 80.0
WARMUP = 20
log = logging.getLogger(__name__)


def grown_index(data: Path, size: int) -> Path:
    """The grown index of about ``size`` chunks (built on first use, then reused)."""
    from retrieval.embedding import built_with, load_embedder

    out = GROWN / str(size)
    if not (out / "CURRENT").exists():
        base = build_base(data, CachedEmbedder(load_embedder(None, built_with(BASE_INDEX))))
        grow(base, size, out, noise=0.01)
    return out


def timings(index: Path, queries: list[str]) -> dict[str, list[float]]:
    """Milliseconds per call: ``Library.ask`` (extractive, experts included) and the search alone."""
    from retrieval.embedding import built_with, load_embedder
    from retrieval.experts import EXPERT_HITS
    from retrieval.index import IndexDir
    from retrieval.library import Library

    library = Library(IndexDir(index), load_embedder(None, built_with(index)))
    searcher = library.searcher()
    for q in queries[:WARMUP]:
        library.ask(q)
    out: dict[str, list[float]] = {"Library.ask": [], "search (k=100, uncollapsed)": []}
    for q in queries:
        start = time.perf_counter()
        library.ask(q)
        out["Library.ask"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        searcher.search(q, k=EXPERT_HITS, collapse=False)
        out["search (k=100, uncollapsed)"].append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--size", type=int, default=100_000, help="chunks of the grown index")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--build-only", action="store_true", help="build the grown index and stop")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    data = data_dir(args.data)
    index = grown_index(data, args.size)
    if args.build_only:
        return
    queries = pick_queries(data, args.queries + WARMUP)
    found = timings(index, queries)
    rows = [(name, len(v), percentile(v, 50), percentile(v, 95), statistics.mean(v)) for name, v in found.items()]
    p50 = percentile(found["Library.ask"], 50)
    verdict = f"Library.ask p50 {p50:.1f} ms (target <= {TARGET_MS:.0f}: {'meets' if p50 <= TARGET_MS else 'MISSES'})"
    print(table(["call", "n", "p50 ms", "p95 ms", "mean ms"], rows), verdict, sep="\n")
    body = "\n".join([
        section_header(f"/ask with the extractive answerer at {args.size:,} chunks, in process (issue 12)",
                       "flock /work/bench.lock python bench/answer_latency.py"),
        f"Index grown from the latency benchmark's base by `bench.latency.grow` ({args.size:,} chunks). "
        f"{args.queries} StackFAQ queries after {WARMUP} warm-up calls, one at a time, the model embedding each "
        f"query (no cache); torch threads: {os.environ.get('OMP_NUM_THREADS', 'default')}. `Library.ask` is "
        "what `POST /ask` runs (search, extractive answer, experts), without HTTP.",
        "", table(["call", "n", "p50 ms", "p95 ms", "mean ms"], rows), "", f"- {verdict}",
    ])
    if not args.no_write:
        write_section("answer-latency", body)


if __name__ == "__main__":
    main()
