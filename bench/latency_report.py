"""The Markdown section ``bench/latency.py`` writes into ``docs/benchmarks.md``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from bench.common import section_header, table
from bench.serving import percentile

SEARCH_TARGET_MS = 30.0
ASK_TARGET_MS = 80.0


def human(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def latency_rows(runs: list[Any], kind: str) -> list[tuple[object, ...]]:
    """One row per (backend, size, call, query kind, caller): n, p50, p95, p99, mean in ms."""
    rows = []
    for r in runs:
        for (call, query, caller), values in getattr(r, kind).items():
            rows.append((r.backend, f"{r.grown.chunks:,}", call, query, caller, len(values),
                         *(f"{percentile(values, q):.1f}" for q in (50, 95, 99)), f"{np.mean(values):.1f}"))
    return rows


def build_rows(runs: list[Any]) -> list[tuple[object, ...]]:
    """One row per grown index: what it holds, what growing and serving it took."""
    return [(r.backend, f"{r.grown.chunks:,}", f"{r.grown.documents:,}", f"{r.grown.private_documents:,}",
             r.grown.kind, f"{r.grown.build_s:.0f}", f"{r.grown.disk_mb:.0f}",
             f"{r.startup_s:.1f}" if r.startup_s else "-",
             f"{r.rss_mb:.0f} / {r.peak_rss_mb:.0f}" if r.rss_mb else "-") for r in runs]


def verdicts(runs: list[Any]) -> list[str]:
    """Target checks (issue 3) on the p50s of short anonymous queries over HTTP."""
    lines = []
    for r in runs:
        search, ask = r.http.get(("/search", "short", "anonymous")), r.http.get(("/ask", "short", "anonymous"))
        if search and ask:
            s, a = percentile(search, 50), percentile(ask, 50)
            lines.append(f"- {r.backend}, {r.grown.chunks:,} chunks, short anonymous: /search p50 {s:.1f} ms "
                         f"(target <= {SEARCH_TARGET_MS:.0f}: {'meets' if s <= SEARCH_TARGET_MS else 'MISSES'}), "
                         f"/ask p50 {a:.1f} ms (target <= {ASK_TARGET_MS:.0f}: "
                         f"{'meets' if a <= ASK_TARGET_MS else 'MISSES'})")
    return lines


def report(runs: list[Any], args: argparse.Namespace, queries: dict[str, list[str]]) -> str:
    """The section: setup, build table, HTTP and in-process tables, verdicts, errors."""
    lengths = {k: (min(map(len, v)), int(np.median([len(x) for x in v])), max(map(len, v))) for k, v in queries.items()}
    per_backend = ", ".join(f"{r.backend} {r.queries}" for r in runs[:: max(1, len(args.sizes.split(",")))])
    sizes = ", ".join(human(int(s)) for s in args.sizes.split(","))
    lines = [
        section_header(f"Latency and scaling (issues 3, 8, 11.8): {sizes} chunks, backends {args.backends}",
                       "python bench/latency.py " + " ".join(sys.argv[1:])),
        "Base: StackFAQ (thread level) + all cardano.stackexchange threads, loaded and chunked by the real pipeline "
        f"({args.embedder} embedder, vectors from the cache), every {args.private_every}th document private to "
        "`mentors`" + ("" if args.private_every else " (none: public only)") + ". Grown by repeating the base "
        f"documents with varied ids (`D~r`), each replica's vectors = base + N(0, {args.noise}^2) per dimension, "
        "re-normalised; texts repeated as they are; written through `SnapshotWriter.put_documents` and the "
        f"backend's builders (`bench/grow.py`). Queries per row ({per_backend}): `short` = StackFAQ queries "
        f"(characters min/median/max {lengths['short']}), `long` = cardano questions, title + body "
        f"({lengths['long']}); callers `anonymous` and a `mentors` member (API key over HTTP). After warm-up calls, "
        "one request at a time from this process to `townsquare serve` (uvicorn) in a subprocess (rate limit "
        "off), `/search` with `k=10`, `/ask` with the question only; in process `Searcher.search(k=10)` per "
        "mode with the query vector (and a question's title vector) from the cache (`embed query (model)`: "
        "the model alone). Server start and memory after the run.\n",
        table(["backend", "chunks", "documents", "private documents", "vectors", "build s", "disk MB",
               "server start s", "server RSS / peak MB"], build_rows(runs)),
        "",
    ]
    if any(r.http for r in runs):
        lines += ["#### Over HTTP (ms)\n", table(["backend", "chunks", "endpoint", "query", "caller", "n", "p50",
                                                  "p95", "p99", "mean"], latency_rows(runs, "http")), ""]
        lines += verdicts(runs)
    lines += ["\n#### In process, `Searcher.search` by mode (ms; where the time goes)\n",
              table(["backend", "chunks", "call", "query", "caller", "n", "p50", "p95", "p99", "mean"],
                    latency_rows(runs, "inproc"))]
    errors = [f"- {r.backend}, {r.grown.chunks:,} chunks: {e}" for r in runs for e in r.errors]
    if errors:
        lines += ["", *errors]
    return "\n".join(lines)
