"""Plots of ``bench/peers.py``'s results (``var/bench-cache/peers/results.json``) as PNG files
under ``docs/plots/``: quality per system per dataset, latency and memory vs corpus size, and
ingest throughput vs the raw model encode. Run after ``bench/peers.py``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CACHE_DIR, REPO  # noqa: E402

RESULTS = CACHE_DIR / "peers" / "results.json"
OUT = REPO / "docs" / "plots"
FILES = {"quality": "quality.png", "latency": "latency_vs_size.png", "memory": "memory_vs_size.png",
         "ingest": "ingest_throughput.png", "build": "build_seconds.png", "query": "query_latency.png"}


def bars(plt: Any, record: dict[str, Any], value: Any, label: str, name: str, title: str, log: bool = False) -> None:
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
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=4, loc="lower center")
    save(plt, fig, name)


def quality(plt: Any, record: dict[str, Any]) -> None:
    bars(plt, record, lambda r: r["means"]["nDCG@10"], "nDCG@10", "quality",
         "Retrieval quality per system and dataset (same texts, same MiniLM vectors)")
    bars(plt, record, lambda r: r["build_s"], "index build seconds (log)", "build",
         "Index build from cached vectors (Townsquare: whole ingest pipeline)", log=True)
    bars(plt, record, lambda r: r["p50_ms"], "query p50 ms, in process (log)", "query",
         "Query latency per system and dataset (query vector from the cache)", log=True)


def per_size(plt: Any, record: dict[str, Any], key: str, label: str, name: str, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for system, rows in sorted(record["sizes"].items()):
        rows = sorted(rows, key=lambda r: r["units"])
        ax.plot([r["units"] for r in rows], [r[key] for r in rows], marker="o", label=system)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("corpus size (chunks)")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend(fontsize=7)
    save(plt, fig, name)


def ingest(plt: Any, record: dict[str, Any]) -> None:
    race = record["ingest"]
    names = ["raw model encode", "Townsquare ingest", "LangChain FAISS.from_texts"]
    seconds = [race["raw_s"], race["townsquare_s"], race["langchain_s"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(names, [race["chunks"] / s for s in seconds], color=["grey", "tab:blue", "tab:orange"])
    ax.set_ylabel("chunks per second")
    ax.set_title(f"Ingest throughput, {int(race['chunks'])} chunks, torch on 1 thread (load {race['load']:.0f})")
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
    if record["quality"]:
        quality(plt, record)
    if record["sizes"]:
        per_size(plt, record, "p50_ms", "query p50 (ms, in process)", "latency", "Query latency vs corpus size")
        per_size(plt, record, "peak_mb", "peak resident memory (MB)", "memory", "Peak memory vs corpus size")
    if record["ingest"]:
        ingest(plt, record)


if __name__ == "__main__":
    main()
