"""``Library.ask`` latency with the extractive answerer at about 100k chunks (issue 12 target:
``/ask`` p50 <= 80 ms), in process: search, answer and experts, as the API's handler calls it
(no HTTP; ``bench/latency.py`` measures the HTTP path).

The product as shipped: the library gets the API's default search settings (title weighting of
long questions included) and thread caps (``serve_threads``: torch and FAISS on one thread; the
ONNX runtime keeps its own default), and each embedder measures the kept ``sqlite-faiss`` index
it built (``--embedders``; the default runtime, ``onnx``, is the shipped configuration). The
indexes (StackFAQ + cardano.stackexchange through the real pipeline, grown with noisy replicas,
every 20th document private to ``mentors``) are built beforehand under ``nice`` by
``bench/latency.py --build-only --sizes 100000 --backends sqlite-faiss --embedder NAME``.

Queries: the latency benchmark's ``short`` (StackFAQ) and ``long`` (cardano title + body,
300-1,000 characters) sets, asked as an anonymous caller and as a ``mentors`` member. The
library's query cache is emptied before every timed call, so every row pays for the model
embedding the question (and its title line); ``embed question (model)`` is the model alone on
the whole question. Timed runs hold the machine's bench lock:

    flock /work/bench.lock .venv/bin/python bench/answer_latency.py [--size 100000] [--queries 50]
        [--embedders onnx,torch] [--no-write]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import data_dir, section_header, table, vector_kind, write_section  # noqa: E402
from bench.latency import CALLERS, index_path, query_sets  # noqa: E402
from bench.serving import percentile  # noqa: E402

TARGET_MS = 80.0
WARMUP = 10
BACKEND = "sqlite-faiss"
ASK = "Library.ask"
Key = tuple[str, str, str, str]
"""(embedder, call, query kind, caller)."""
log = logging.getLogger(__name__)


def library_for(index: Path, embedder: str, backend: str = BACKEND) -> Any:
    """A :class:`retrieval.library.Library` over ``index`` (built with ``backend``) as the API
    builds it: the index's embedder ``embedder`` behind the query cache, the default search
    settings."""
    from app.settings import SearchOptions
    from retrieval.backends import BackendConfig
    from retrieval.embedding import embedder_for_index
    from retrieval.index import IndexDir
    from retrieval.library import Library

    model = embedder_for_index(index, None, embedder)
    return Library(IndexDir(index, BackendConfig(backend)), model, SearchOptions().model_dump())


def fresh(library: Any, call: Callable[[], Any]) -> float:
    """Milliseconds of ``call`` after the library's query cache is emptied (the model embeds)."""
    library.embedder.clear()
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def timings(library: Any, name: str, queries: dict[str, list[str]]) -> dict[Key, list[float]]:
    """Milliseconds per call: ``Library.ask`` (extractive, experts included), the search it
    starts with alone (k=100, uncollapsed) per (query kind, caller), and the model per kind."""
    from retrieval.experts import EXPERT_HITS

    searcher, model = library.searcher(), library.embedder.inner
    out: dict[Key, list[float]] = {}
    for kind, texts in queries.items():
        for q in texts[:WARMUP]:
            model.embed([q])
        out[(name, "embed question (model)", kind, "-")] = [fresh(library, partial(model.embed, [q]))
                                                           for q in texts[WARMUP:]]
        for caller, groups in CALLERS.items():
            for q in texts[:WARMUP]:
                library.ask(q, groups=groups)
            ask, search = out.setdefault((name, ASK, kind, caller), []), []
            for q in texts[WARMUP:]:
                ask.append(fresh(library, partial(library.ask, q, groups=groups)))
                search.append(fresh(library, partial(searcher.search, q, k=EXPERT_HITS, collapse=False,
                                                     groups=groups)))
            out[(name, "search (k=100, uncollapsed)", kind, caller)] = search
    return out


def verdicts(found: dict[Key, list[float]], shipped: str) -> list[str]:
    """One line per embedder: its worst ``Library.ask`` p50 row against the target."""
    lines = []
    for name in dict.fromkeys(key[0] for key in found):
        rows = {key[2:]: percentile(v, 50) for key, v in found.items() if key[0] == name and key[1] == ASK}
        worst = max(rows, key=lambda k: rows[k])
        label = f"`{name}`" + (" (shipped default)" if name == shipped else "")
        met = sum(p <= TARGET_MS for p in rows.values())
        lines.append(f"{label}: Library.ask p50, worst row ({worst[0]}, {worst[1]}): {rows[worst]:.1f} ms; "
                     f"target p50 <= {TARGET_MS:.0f} ms met in {met} of {len(rows)} rows"
                     + ("" if met == len(rows) else " (MISSED)"))
    return lines


def shares(found: dict[Key, list[float]]) -> list[str]:
    """Per embedder, query kind and caller: how the ``Library.ask`` p50 splits into the model,
    the rest of the search, and what follows it (extractive answer and experts)."""
    p50 = {key: percentile(v, 50) for key, v in found.items()}
    lines = []
    for (name, call, kind, caller), ask in p50.items():
        if call != ASK:
            continue
        search, model = p50[(name, "search (k=100, uncollapsed)", kind, caller)], p50[
            (name, "embed question (model)", kind, "-")]
        lines.append(f"`{name}`, {kind}, {caller}: ask {ask:.0f} ms = model ~{model:.0f} + rest of the search "
                     f"~{search - model:.0f} + answer and experts ~{ask - search:.0f} (differences of p50s)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--size", type=int, default=100_000, help="chunks of the kept latency index")
    parser.add_argument("--queries", type=int, default=50, help="timed queries of each kind per caller")
    parser.add_argument("--embedders", default="onnx,torch", help="embedders whose kept indexes are measured")
    parser.add_argument("--backend", default=BACKEND, help="backend of the kept indexes (section answer-latency "
                        "for the default, answer-latency-BACKEND for another)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch

    from app.settings import Settings
    from retrieval.backends import limit_threads
    from retrieval.embedding import DEFAULT_EMBEDDER

    threads = int(Settings.model_fields["serve_threads"].default)
    torch.set_num_threads(threads)  # as the API's lifespan does
    limit_threads(threads)
    names = [n for n in args.embedders.split(",") if n]
    backend = args.backend
    indexes = {name: index_path(backend, args.size, 20, name) for name in names}
    for name, index in indexes.items():
        if not (index / "CURRENT").exists():
            raise SystemExit(f"{index}: no kept index; run `bench/latency.py --build-only --sizes {args.size} "
                             f"--backends {backend} --embedder {name}` first")
    n = args.queries + WARMUP
    queries = {k: v[:n] for k, v in query_sets(data_dir(args.data), n).items()}
    load = os.getloadavg()[0]
    found: dict[Key, list[float]] = {}
    for name, index in indexes.items():
        found.update(timings(library_for(index, name, backend), name, queries))
    rows = [(*key, len(v), percentile(v, 50), percentile(v, 95), statistics.mean(v)) for key, v in found.items()]
    lines = verdicts(found, DEFAULT_EMBEDDER)
    headers = ["embedder", "call", "queries", "caller", "n", "p50 ms", "p95 ms", "mean ms"]
    print(table(headers, rows), *lines, f"load average at start: {load:.2f}", sep="\n")
    body = "\n".join([
        section_header(f"/ask with the extractive answerer at {args.size:,} chunks, in process (issue 12)"
                       + ("" if backend == BACKEND else f", backend {backend}"),
                       "flock /work/bench.lock python bench/answer_latency.py"
                       + ("" if backend == BACKEND else f" --backend {backend} --embedders {args.embedders}")),
        f"The latency benchmark's kept `{backend}` indexes (vectors: "
        + ", ".join(f"{name} `{vector_kind(index)}`" for name, index in indexes.items())
        + f"; {args.size:,} chunks, 5% of documents private to "
        f"`mentors`), one built by each embedder; `{DEFAULT_EMBEDDER}` is the shipped default (a new index gets "
        f"it). {args.queries} queries of each kind (`short`: StackFAQ; `long`: cardano title + body, 300-1,000 "
        f"characters) per caller after {WARMUP} warm-up calls, one at a time. The library is built as the API "
        f"builds it: default search settings (a long question's title line is embedded too, beside the whole "
        f"question), torch and FAISS on {threads} thread (`serve_threads`), ONNX Runtime on its default. The query "
        "cache is emptied before every timed call, so every row includes the model embedding the question; "
        "`embed question (model)` is the model alone. `Library.ask` is what `POST /ask` runs (search, extractive "
        f"answer, experts), without HTTP. Load average at start: {load:.2f}.",
        "", table(headers, rows), "", *(f"- {line}" for line in lines), "", "Where the time goes:", "",
        *(f"- {line}" for line in shares(found)),
    ])
    if not args.no_write:
        write_section("answer-latency" if backend == BACKEND else f"answer-latency-{backend}", body)


if __name__ == "__main__":
    main()
