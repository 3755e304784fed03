"""Forum retrieval quality across dev sets (issue 11, part 7): which ranking levers help on
*every* set, chosen with leave-one-dataset-out cross-validation.

    nice -n 19 .venv/bin/python bench/forum_quality.py sweep [--sets a,b] [--max-queries N]
    nice -n 19 .venv/bin/python bench/forum_quality.py compare [--sets a,b] [--no-write]

``sweep``: every setting of ``bench/forum_sweep.grid()`` on every dev set (per-query nDCG@10
saved to ``var/bench-cache/forum/sweep-<set>.json``), then the table of the best settings by
the mean over sets, and a leave-one-set-out check (the setting chosen on the other sets,
scored on the held-out one).

``compare``: the real ``Searcher.search`` (k=100, collapse) with the shipped defaults vs the
pre-change settings (``--before``, as ``SearchOptions`` JSON) on every set; nDCG@10, MRR@10,
Recall@100 from ``retrieval.evaluation`` with a paired randomisation test; written to the
``quality-forum`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import CACHE_DIR, CachedEmbedder, data_dir, index_dir, ingest_or_fail, load_model, mean, paired  # noqa: E402
from bench.forum_sets import NAMES, DevSet, build  # noqa: E402

ROOT = CACHE_DIR / "forum"
log = logging.getLogger("forum_quality")


def prepared(name: str, data: Path, embedder: CachedEmbedder, max_queries: int) -> tuple[DevSet, Any]:
    """The dev set and an open snapshot of its index (ingested incrementally)."""
    folder = ROOT / name
    dev = build(name, data, folder)
    if max_queries and len(dev.queries) > max_queries:
        keys = list(dev.queries)
        step = len(keys) / max_queries
        dev.queries = {keys[int(i * step)]: dev.queries[keys[int(i * step)]] for i in range(max_queries)}
    dev.queries = {q: v for q, v in dev.queries.items() if any(g > 0 for g in dev.qrels.get(q, {}).values())}
    summary = ingest_or_fail([dev.sources], folder / "index", embedder)
    print(f"{name}: {len(dev.queries)} queries, {summary.chunks_embedded} chunks embedded now", flush=True)
    texts = [dev.text(q) for q in dev.queries] + [t for t, b in dev.queries.values() if b]
    for start in range(0, len(texts), 64):
        embedder.embed(texts[start:start + 64])
    return dev, index_dir(folder / "index").open(embedder.model_id)


def run_sweep(names: list[str], data: Path, embedder: CachedEmbedder, max_queries: int) -> None:
    from bench import forum_sweep as fs

    settings = fs.grid()
    for name in names:
        dev, snapshot = prepared(name, data, embedder, max_queries)
        index = fs.load_index(snapshot)
        per: dict[str, list[float]] = {s.label(): [] for s in settings}
        start = time.time()
        for n, (qid, (title, body)) in enumerate(dev.queries.items()):
            skip = qid if dev.exclude_self else None
            for s, v in fs.sweep_query(index, embedder, title, body, dev.qrels[qid], settings, skip).items():
                per[s.label()].append(v)
            if n % 100 == 0:
                print(f"  {name} {n}/{len(dev.queries)} {time.time() - start:.0f}s", flush=True)
        snapshot.close()
        (ROOT / f"sweep-{name}.json").write_text(json.dumps({"queries": list(dev.queries), "ndcg": per}))
    report_sweep(names)


def report_sweep(names: list[str]) -> None:
    """Best settings by the mean over sets, and leave-one-set-out choices."""
    runs = {n: json.loads((ROOT / f"sweep-{n}.json").read_text())["ndcg"] for n in names}
    labels = list(next(iter(runs.values())))
    shipped = "qvec=full prf=off lex=sel alpha=0.9 collapse=max"
    macro = {lab: mean(mean(runs[n][lab]) for n in names) for lab in labels}
    print("\nbest settings by the mean nDCG@10 over sets (diff to shipped, p):")
    for lab in sorted(labels, key=lambda x: -macro[x])[:25] + [shipped]:
        cells = "  ".join(f"{n} {mean(runs[n][lab]):.4f}" for n in names)
        tests = " ".join(f"{paired(runs[n][lab], runs[n][shipped]).mean_diff:+.4f}"
                         f"({paired(runs[n][lab], runs[n][shipped]).p_value:.2f})" for n in names)
        print(f"  {macro[lab]:.4f}  {lab:<58} {cells}  | {tests}")
    print("\nleave one set out (chosen on the others, scored on it):")
    for held in names:
        others = [n for n in names if n != held]
        chosen = max(labels, key=lambda lab: (mean(mean(runs[n][lab]) for n in others), lab == shipped))
        t = paired(runs[held][chosen], runs[held][shipped])
        print(f"  {held:<16} {chosen:<58} {mean(runs[held][chosen]):.4f} vs shipped "
              f"{mean(runs[held][shipped]):.4f}: {t.mean_diff:+.4f} (p {t.p_value:.3f}, {t.wins}/{t.losses})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("sweep", "report", "compare"))
    parser.add_argument("--sets", default=",".join(NAMES))
    parser.add_argument("--data")
    parser.add_argument("--max-queries", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    names = args.sets.split(",")
    if args.action == "report":
        report_sweep(names)
        return
    embedder = CachedEmbedder(load_model())
    if args.action == "sweep":
        run_sweep(names, data_dir(args.data), embedder, args.max_queries)


if __name__ == "__main__":
    main()
