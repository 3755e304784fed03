"""Plots of ``bench/peers.py``'s results (``var/bench-cache/peers/results.json``) as PNG files
under ``docs/plots/``: quality per system per dataset, latency and memory vs corpus size, and
ingest throughput vs the raw model encode. Run after ``bench/peers.py``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CACHE_DIR, REPO  # noqa: E402
from bench.peers_report import race_chunks  # noqa: E402

RESULTS = CACHE_DIR / "peers" / "results.json"
OUT = REPO / "docs" / "plots"
FILES = {"quality": "quality.png", "latency": "latency_vs_size.png", "memory": "memory_vs_size.png",
         "ingest": "ingest_throughput.png", "query": "query_latency.png"}


def bars(plt: Any, record: dict[str, Any], value: Any, label: str, name: str, title: str) -> None:
    """One group of bars per dataset, one bar per system, of ``value(result)``."""
    datasets = list(record["quality"])
    systems = sorted({s for d in datasets for s in record["quality"][d]})
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(1, len(systems))
    for i, system in enumerate(systems):
        values = [value(record["quality"][d][system]) if system in record["quality"][d] else 0.0 for d in datasets]
        ax.bar([x + i * width for x in range(len(datasets))], values, width, label=system)
    ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(datasets))], datasets)
    ax.set_ylabel(label)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=4, loc="lower center")
    save(plt, fig, name)


def quality(plt: Any, record: dict[str, Any]) -> None:
    bars(plt, record, lambda r: r["means"]["nDCG@10"], "nDCG@10", "quality",
         "Retrieval quality per system and dataset (same texts, same MiniLM vectors)")


def p50_of(result: dict[str, Any], kind: str) -> float:
    """p50 ms of ``kind`` queries, the anonymous caller for Townsquare."""
    rows = [r for r in result["rows"] if r["kind"] == kind and r["caller"] in ("anonymous", "everyone")]
    return float(np.percentile(rows[0]["ms"], 50))


def query_latency(plt: Any, record: dict[str, Any]) -> None:
    """p50 per system at the largest size, short and full questions side by side."""
    run = record["latency"][max(record["latency"], key=int)]
    systems = list(run["systems"])
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, kind in enumerate(("short", "full")):
        ax.bar([x + i * 0.4 for x in range(len(systems))], [p50_of(run["systems"][s], kind) for s in systems],
               0.4, label=f"{kind} queries")
    ax.set_xticks([x + 0.2 for x in range(len(systems))], systems, rotation=20, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("query p50 ms, in process (log)")
    ax.set_title(f"k=10 page at {run['chunks']:,} chunks, 5% private (Townsquare: anonymous caller)")
    ax.legend(fontsize=8)
    save(plt, fig, "query")


def per_size(plt: Any, record: dict[str, Any], value: Any, label: str, name: str, title: str,
             scale: tuple[Any, str] | None = None) -> None:
    """One line per system over the timed index sizes; ``scale``: (value of a ``bench/scale.py``
    record, label) for Townsquare's own series up to 1M chunks (:func:`scale_lines`)."""
    sizes = sorted(record["latency"], key=int)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    systems = sorted({s for size in sizes for s in record["latency"][size]["systems"]})
    for system in systems:
        runs = [record["latency"][size] for size in sizes if system in record["latency"][size]["systems"]]
        ax.plot([r["chunks"] for r in runs], [value(r["systems"][system]) for r in runs], marker="o", label=system)
    if scale is not None:
        scale_lines(ax, *scale)
    finish_vs_size(plt, fig, ax, label, title, name)


def scale_lines(ax: Any, value: Any, label: str) -> None:
    """Townsquare's own 10k-1M series from ``bench/scale.py`` (one ``results-<size>.json`` per
    size), dashed, when at least two sizes were run."""
    from bench.scale import kept_results

    runs = kept_results()
    if len(runs) > 1:
        ax.plot(list(runs), [value(r) for r in runs.values()], marker="s", linestyle="--", color="black", label=label)


def finish_vs_size(plt: Any, fig: Any, ax: Any, label: str, title: str, name: str) -> None:
    """Log-log axes against corpus size, labels, legend, and save as ``name``."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("corpus size (chunks)")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend(fontsize=7)
    save(plt, fig, name)


def old_sizes(plt: Any, record: dict[str, Any], key: str, label: str, name: str, title: str) -> None:
    """The ``sizes`` part of ``bench/peers.py --sizes`` (k=100 documents, no private content)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for system, rows in sorted(record["sizes"].items()):
        rows = sorted(rows, key=lambda r: r["units"])
        ax.plot([r["units"] for r in rows], [r[key] for r in rows], marker="o", label=system)
    finish_vs_size(plt, fig, ax, label, title, name)


def ingest(plt: Any, record: dict[str, Any]) -> None:
    race = record["ingest"]
    names = ["raw encode\nONNX int8", "raw encode\ntorch", "Townsquare ingest\nONNX (default)",
             "Townsquare ingest\ntorch", "LangChain\nFAISS.from_texts"]
    keys = ["raw_onnx_s", "raw_torch_s", "townsquare_onnx_s", "townsquare_torch_s", "langchain_s"]
    chunks = race_chunks(race)  # the count docs/benchmarks.md's table divides by
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, [chunks / race[k] for k in keys],
           color=["grey", "grey", "tab:blue", "tab:blue", "tab:orange"])
    ax.set_ylabel("chunks per second (wall)")
    ax.set_title(f"Ingest throughput, {chunks} chunks ({int(race['chunks'])} distinct), every runtime on 1 thread")
    ax.tick_params(axis="x", labelsize=8)
    save(plt, fig, "ingest")


def save(plt: Any, fig: Any, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(OUT / FILES[name], dpi=110)
    plt.close(fig)
    print(f"wrote {OUT / FILES[name]}")


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record = json.loads(RESULTS.read_text())
    if record.get("quality"):
        quality(plt, record)
    if record.get("latency"):
        query_latency(plt, record)
        per_size(plt, record, lambda r: p50_of(r, "full"), "query p50 ms, full questions (log)", "latency",
                 "k=10 page latency vs corpus size (full questions, 5% private)",
                 (lambda r: np.percentile(r["inproc"]["search hybrid | long | anonymous"], 50),
                  "townsquare-hybrid in process, bench/scale.py runs (StackFAQ + cardano base)"))
        per_size(plt, record, lambda r: r["peak_mb"], "peak resident memory (MB)", "memory",
                 "Peak memory of the timed process vs corpus size",
                 (lambda r: r["server"]["peak"], "townsquare serve (HTTP server), bench/scale.py runs"))
    elif record.get("sizes"):  # only the earlier k=100 size runs (SemEval units replicated)
        old_sizes(plt, record, "p50_ms", "query p50 ms, k=100 (log)", "latency", "Query latency vs corpus size (k=100)")
        old_sizes(plt, record, "peak_mb", "peak resident memory (MB)", "memory", "Peak memory vs corpus size")
    if record.get("ingest"):
        ingest(plt, record)


if __name__ == "__main__":
    main()
