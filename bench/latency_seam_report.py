"""The ``latency-seam`` section of ``docs/benchmarks.md`` (``bench/latency_seam.py``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

from bench.common import section_header, table

LIMIT = 1.10
"""After / before p50 allowed by issue 8 (no more than 10% worse)."""


def pooled(rounds: list[dict[str, Any]], key: str) -> list[float]:
    """Every timing of ``key`` over the rounds of one tree."""
    return [v for r in rounds for v in r[key]]


def rows(results: dict[tuple[int, str], list[dict[str, Any]]]) -> tuple[list[tuple[object, ...]], float]:
    """(size, call, before p50, after p50, ratio, before p95, after p95) rows and the worst ratio."""
    out, worst = [], 0.0
    for size in sorted({s for s, _ in results}):
        before, after = results[(size, "before")], results[(size, "after")]
        for key in (k for k in before[0] if k != "server start s"):
            b, a = pooled(before, key), pooled(after, key)
            ratio = float(np.median(a) / np.median(b))
            worst = max(worst, ratio)
            out.append((f"{size:,}", key, f"{np.median(b):.2f}", f"{np.median(a):.2f}", f"{ratio:.3f}",
                        f"{np.percentile(b, 95):.2f}", f"{np.percentile(a, 95):.2f}"))
    return out, worst


def report(results: dict[tuple[int, str], list[dict[str, Any]]], args: argparse.Namespace, queries: list[str]) -> str:
    """The section: how, the table, the verdict."""
    table_rows, worst = rows(results)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    verdict = "meets" if worst <= LIMIT else "MISSES"
    return "\n".join([
        section_header("Storage seam (issue 8): default backend before and after, same indexes, same run",
                       "python bench/latency_seam.py " + " ".join(sys.argv[1:])),
        f"The code before the seam (commit c22b98c, `--before {args.before}`) and this checkout, each serving and "
        "searching the same grown `sqlite-faiss` indexes (public only, torch embedder; the old code reads them "
        "through a hard-linked copy whose manifest drops the two fields it does not know). Trees alternate "
        "before, after, after, before; each row pools both rounds of a tree "
        f"({len(queries)} short StackFAQ queries per round after {args.warmup} warm-up calls, anonymous). In "
        "process = `Searcher.search(k=10)` with the query vector given (a child process with "
        "`PYTHONPATH=<tree>`); HTTP = that tree's `townsquare serve`, one request at a time. Load average at "
        f"the end: {load}.\n",
        table(["chunks", "call", "before p50 ms", "after p50 ms", "after / before", "before p95 ms",
               "after p95 ms"], table_rows),
        "",
        f"- worst after / before p50: **{worst:.3f}** (issue 8: at most {LIMIT:.2f}): **{verdict}**.",
    ])
