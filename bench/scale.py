"""1M chunks served in 2 GB (issue 11, part 4): resident memory, ``/search`` latency over
HTTP, and the recall of the approximate dense search against exact search.

1. The index: the latency benchmark's base (StackFAQ threads + cardano.stackexchange, real
   pipeline) grown to ``--size`` chunks by ``bench/latency.py``'s ``grow`` (replicas with
   varied ids, vectors = base + Gaussian noise, re-normalised); the vector kind is the one
   ``kind_for_size`` picks (``hnsw-sq8`` at 1M). Built once under ``var/bench-cache/scale``
   and reused (``--build`` builds it and the recall set, then stops: run that under nice).
2. Memory: a fresh process opens the index step by step (model, catalog + FTS5, vectors) and
   runs queries; resident memory (anonymous / file-backed) after each step shows where it goes.
3. Recall@10 of ``VectorIndex.search`` against exact search (every stored float32 vector
   times the query) on the same queries, on two vector sets: the served noisy-replica index
   (clusters of near-duplicates: a weak test) and a less degenerate set of the same size,
   each vector a random convex mix of three base vectors plus noise (distinct points spread
   over the span of the real embeddings), indexed with the same kind and options.
4. Latency: ``townsquare serve`` on the index (uvicorn subprocess), ``/search`` k=10 one
   request at a time; short StackFAQ queries and full cardano questions (title + body);
   in-process ``Searcher.search`` per mode; the server's resident memory after the run.

    nice -n 19 .venv/bin/python bench/scale.py --build [--size 1000000]
    flock /work/bench.lock .venv/bin/python bench/scale.py [--size 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a file: the repository, not bench/, goes first on the path
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    CACHE_DIR,
    REPO,
    CachedEmbedder,
    data_dir,
    read_jsonl,
    section_header,
    table,
    write_section,
)
from bench.latency import (  # noqa: E402
    Server,
    build_base,
    grow,
    human,
    inprocess_latencies,
    percentile,
    pick_queries,
    timed,
)

ROOT = CACHE_DIR / "scale"
RSS_TARGET_MB = 2048.0
SEARCH_TARGET_MS = 50.0
RECALL_TARGET = 0.95
K = 10


def index_path(size: int) -> Path:
    """Where the grown index of ``size`` chunks is kept."""
    return ROOT / f"grown-{size}"


def mixtures_path(size: int) -> Path:
    """Where the less degenerate vector set of ``size`` vectors is kept (an ``hnsw-sq8`` index)."""
    return ROOT / f"mixtures-{size}" / "vectors.faiss"


# --------------------------------------------------------------------------- building


def torch_model() -> Any:
    """MiniLM on torch: the runtime the latency base index (and so the grown one) was built
    with; the server picks the same one for it."""
    from retrieval.embedding import load_embedder

    return load_embedder(None, "torch")


def base_vectors(base: Path) -> np.ndarray:
    """Every vector of the base index (n, d), in chunk id order."""
    from retrieval.index import IndexDir

    snapshot = IndexDir(base).open()
    ids = [chunk for chunk, _, _ in snapshot.catalog.chunk_texts()]  # chunk-id order
    vectors = snapshot.vectors.vectors(ids)
    snapshot.close()
    return vectors


def mixtures(base: np.ndarray, size: int, noise: float, seed: int = 1) -> np.ndarray:
    """``size`` unit vectors, each a Dirichlet(1,1,1) mix of three random base vectors plus
    N(0, noise^2) per dimension: distinct points spread over the span of the real ones."""
    rng = np.random.default_rng(seed)
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    for at in range(0, size, 100_000):
        n = min(100_000, size - at)
        picks = rng.integers(0, len(base), size=(n, 3))
        weights = rng.dirichlet(np.ones(3), size=n).astype(np.float32)
        block = np.einsum("nj,njd->nd", weights, base[picks]) + rng.normal(0, noise, (n, base.shape[1]))
        out[at:at + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def build(args: argparse.Namespace, embedder: CachedEmbedder) -> None:
    """Grow the served index and write the mixture set (both skipped when already there)."""
    from retrieval.backends.faiss_index import FaissVectors
    from retrieval.backends.options import FaissOptions

    base = build_base(data_dir(args.data), embedder)
    out = index_path(args.size)
    if not (out / "CURRENT").exists() and args.build != "mixtures":
        result = grow(base, args.size, out, args.noise)
        (ROOT / f"grown-{args.size}.json").write_text(json.dumps(
            {"chunks": result.chunks, "documents": result.documents, "kind": result.kind, "build_s": result.build_s,
             "vectors_s": result.vectors_s, "disk_mb": result.disk_mb, "builder_peak_mb": result.builder_peak_mb}))
        print(f"grown {result.chunks} chunks ({result.kind}) in {result.build_s:.0f} s", flush=True)
    path = mixtures_path(args.size)
    if not path.exists() and args.build != "index":
        vectors = mixtures(base_vectors(base), args.size, args.mix_noise)
        store = FaissVectors.empty(vectors.shape[1], FaissVectors.empty(1).kind_for_size(args.size), FaissOptions())
        start = time.perf_counter()
        for at in range(0, len(vectors), 50_000):
            store.add(np.arange(at, min(at + 50_000, len(vectors)), dtype=np.int64), vectors[at:at + 50_000])
        path.parent.mkdir(parents=True, exist_ok=True)
        store.save(path)
        print(f"mixture set of {len(vectors)} vectors ({store.kind}) in {time.perf_counter() - start:.0f} s")


# --------------------------------------------------------------------------- recall


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` rows and scores of ``matrix @ q`` for each query (rows (q, k), scores (q, k))."""
    rows = np.empty((len(queries), k), dtype=np.int64)
    scores = np.empty((len(queries), k), dtype=np.float32)
    best_rows = [np.empty((len(queries), 0), dtype=np.int64)]
    best_scores = [np.full((len(queries), 0), -np.inf, dtype=np.float32)]
    for at in range(0, len(matrix), 200_000):
        block = np.asarray(matrix[at:at + 200_000], dtype=np.float32) @ queries.T  # (b, q)
        top = np.argpartition(-block, k - 1, axis=0)[:k].T  # (q, k)
        best_rows.append(top + at)
        best_scores.append(np.take_along_axis(block.T, top, axis=1))
        merged_rows, merged_scores = np.hstack(best_rows), np.hstack(best_scores)
        keep = np.argsort(-merged_scores, axis=1)[:, :k]
        best_rows = [np.take_along_axis(merged_rows, keep, axis=1)]
        best_scores = [np.take_along_axis(merged_scores, keep, axis=1)]
    rows[:], scores[:] = best_rows[0], best_scores[0]
    return rows, scores


def recall_at_k(found: list[np.ndarray], matrix: np.ndarray, queries: np.ndarray, exact_scores: np.ndarray) -> float:
    """Mean share of each query's exact top k that the approximate rows ``found`` hold; a found
    row scoring at least the exact k-th score counts (ties between equal vectors are not misses)."""
    shares = []
    for q, rows, kth in zip(queries, found, exact_scores[:, -1], strict=True):
        exact = np.asarray(matrix[np.sort(rows)], dtype=np.float32) @ q if len(rows) else np.zeros(0)
        shares.append(min(int((exact >= kth - 1e-6).sum()), K) / K)
    return float(np.mean(shares))


def recall_rows(store: Any, matrix: np.ndarray, queries: np.ndarray, label: str) -> list[tuple[object, ...]]:
    """Recall@10 of ``store.search`` (k=10, and the top 10 of k=100 as ``Searcher`` asks) vs exact."""
    _, exact_scores = exact_top(matrix, queries, K)
    rows = []
    for k in (K, 100):
        found, took = [], []
        for q in queries:
            start = time.perf_counter()
            ids, _ = store.search(q, k)
            took.append((time.perf_counter() - start) * 1000)
            found.append(store.rows_of(ids[:K]))
        recall = recall_at_k(found, matrix, queries, exact_scores)
        rows.append((label, f"{len(matrix):,}", k, len(queries), f"{recall:.3f}", f"{percentile(took, 50):.2f}"))
    return rows


def raw_matrix(path: Path, dimension: int) -> np.ndarray:
    """The float32 vectors stored beside a quantised index, memory-mapped (n, d)."""
    from retrieval.backends.faiss_quantized import sidecars

    return np.memmap(sidecars(path)[1], dtype=np.float32, mode="r").reshape(-1, dimension)


def measure_recall(args: argparse.Namespace, vectors: np.ndarray) -> list[tuple[object, ...]]:
    """Recall rows for the served index and the mixture set."""
    from retrieval.backends.faiss_index import FaissVectors
    from retrieval.backends.faiss_vectors import VECTORS_FILE

    out = []
    index = index_path(args.size)
    served = index / "snapshots" / (index / "CURRENT").read_text().strip() / VECTORS_FILE
    for label, path in (("noisy replicas (served index)", served), ("3-way mixtures", mixtures_path(args.size))):
        if not path.exists():
            print(f"no {label} set at {path}: run --build first", flush=True)
            continue
        store = FaissVectors.load(path)
        out += recall_rows(store, raw_matrix(path, store.dimension), vectors, label)
        store.close()
    return out


# --------------------------------------------------------------------------- memory


def memory() -> dict[str, float]:
    """This process's resident memory in MB: total, anonymous, file-backed, peak."""
    status = Path("/proc/self/status").read_text()
    read = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]  # noqa: E731
    return {"rss": read("VmRSS"), "anon": read("RssAnon"), "file": read("RssFile"), "peak": read("VmHWM")}


def probe(index: Path, queries: list[str]) -> None:
    """Open ``index`` step by step in this (fresh) process and print resident memory after each
    step as JSON lines (run by :func:`memory_steps` in a subprocess)."""
    import torch

    from app.settings import SearchOptions
    from retrieval.index import IndexDir
    from retrieval.search import Searcher

    steps = [("python + imports", memory())]
    torch.set_num_threads(1)
    embedder = torch_model()
    embedder.embed(["warm up"])
    steps.append(("+ embedding model (torch, MiniLM)", memory()))
    index_dir = IndexDir(index)
    snapshot = index_dir.open(embedder.model_id)
    steps.append(("+ snapshot open (catalog, FTS5, vectors)", memory()))
    searcher = Searcher(snapshot, embedder, **SearchOptions().model_dump())
    for q in queries:
        searcher.search(q, k=10)
    steps.append((f"+ {len(queries)} hybrid searches", memory()))
    print(json.dumps(steps))


def memory_steps(index: Path, queries: list[str]) -> list[tuple[str, dict[str, float]]]:
    """:func:`probe` in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--probe", str(index)], input=json.dumps(queries),
                         capture_output=True, text=True, cwd=REPO, check=True)
    return [tuple(step) for step in json.loads(out.stdout.strip().splitlines()[-1])]  # type: ignore[misc]


def server_memory(pid: int) -> dict[str, float]:
    """Resident memory of process ``pid`` in MB (total, anonymous, file-backed, peak)."""
    status = Path(f"/proc/{pid}/status").read_text()
    read = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]  # noqa: E731
    return {"rss": read("VmRSS"), "anon": read("RssAnon"), "file": read("RssFile"), "peak": read("VmHWM")}


# --------------------------------------------------------------------------- latency


def long_questions(data: Path, n: int) -> list[str]:
    """``n`` full cardano.stackexchange questions (title + body) of 300-1,000 characters."""
    out = []
    for thread in read_jsonl(data / "stackexchange-cardano" / "threads.jsonl"):
        text = f"{thread['title']}\n{thread['question']['text']}".strip()
        if 300 <= len(text) <= 1000:
            out.append(text)
    step = max(1, len(out) // n)
    return out[::step][:n]


def http_search(
    index: Path, sets: dict[str, list[str]], logs: Path,
) -> tuple[dict[str, list[float]], dict[str, float], float]:
    """``/search`` latencies per query set, the server's memory after them, its start seconds."""
    import httpx

    with Server(index, logs / "server-scale.log") as server:
        startup = server.wait_ready()
        out = {}
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for name, queries in sets.items():
                out[f"/search, {name}"] = timed(
                    queries, lambda q: lambda: client.get("/search", params={"q": q, "k": 10}).raise_for_status())
        assert server.proc is not None
        return out, server_memory(server.proc.pid), startup


# --------------------------------------------------------------------------- report


def stats_row(name: str, values: list[float]) -> tuple[object, ...]:
    """name, n, p50, p95, p99, mean (ms)."""
    return (name, len(values), *(f"{percentile(values, q):.1f}" for q in (50, 95, 99)), f"{np.mean(values):.1f}")


def report(args: argparse.Namespace, facts: dict[str, Any], results: dict[str, Any]) -> str:
    """The Markdown section ``scale-1m`` of docs/benchmarks.md."""
    lines = [section_header(f"Scale (issue 11, part 4): {human(args.size)} chunks in 2 GB",
                            f"nice -n 19 .venv/bin/python bench/scale.py --build --size {args.size}; "
                            f"flock /work/bench.lock .venv/bin/python bench/scale.py --size {args.size} "
                            f"--queries {args.queries}"),
             INTRO.format(chunks=facts["chunks"], kind=facts["kind"], noise=args.noise, mix_noise=args.mix_noise,
                          build=facts["build_s"], disk=facts["disk_mb"])]
    if "server" in results:
        mem, http = results["server"], results["http"]
        lines += ["#### Over HTTP (ms)\n", table(["call", "n", "p50", "p95", "p99", "mean"],
                                               [stats_row(k, v) for k, v in http.items()]), "",
                  f"Server: start {results['startup']:.1f} s; resident memory after the run {mem['rss']:.0f} MB "
                  f"(anonymous {mem['anon']:.0f}, file-backed {mem['file']:.0f}), peak {mem['peak']:.0f} MB.\n"]
    if "memory" in results:
        lines += ["#### Where the memory goes (a fresh process, step by step; MB)\n",
                  table(["after", "resident", "anonymous", "file-backed", "peak"],
                        [(name, *(f"{m[key]:.0f}" for key in ("rss", "anon", "file", "peak")))
                         for name, m in results["memory"]]), ""]
    if "inproc" in results:
        lines += ["#### In process, `Searcher.search` by mode (ms)\n",
                  "Query vectors from the embedding cache in the search rows; `embed query (model)` is the model "
                  "alone (torch on one thread).\n",
                  table(["call", "n", "p50", "p95", "p99", "mean"],
                        [stats_row(k, v) for k, v in results["inproc"].items()]), ""]
    if "recall" in results:
        lines += ["#### Dense recall@10, approximate vs exact (same queries)\n",
                  table(["vector set", "vectors", "k asked", "queries", "recall@10", "p50 ms"], results["recall"]), ""]
    lines += verdicts(results)
    return "\n".join(lines)


INTRO = (
    "Index: the latency benchmark's base (StackFAQ threads + cardano.stackexchange, real pipeline) grown to "
    "{chunks:,} chunks by `bench/latency.py`'s `grow`: replicas with varied ids, each replica's vectors = base + "
    "N(0, {noise}^2) per dimension, re-normalised; texts repeated, so FTS5 posting lists grow with the replicas. "
    "Vector kind `{kind}` (chosen by `kind_for_size`; default options): HNSW (M=32, efConstruction 80, efSearch "
    "max(128, short list)) over 8-bit scalar-quantised codes in memory, short list of 2 x k rows rescored exactly "
    "from the float32 vectors on disk (read with `pread`). Built in {build:.0f} s; {disk:.0f} MB on disk. "
    "Recall is measured on two vector sets of the same size and kind: the served noisy replicas (clusters of "
    "~200 near-duplicates: a weak test) and a less degenerate set, each vector a Dirichlet(1,1,1) mix of three "
    "random base vectors + N(0, {mix_noise}^2) per dimension, re-normalised. Exact = every stored float32 vector "
    "times the query; a returned vector scoring at least the exact 10th score counts as found. Queries: "
    "StackFAQ queries (short) and full cardano questions (title + body, 300-1,000 characters), anonymous "
    "caller, one request at a time after warm-up, `/search` k=10 (hybrid, as shipped).\n"
)


def verdicts(results: dict[str, Any]) -> list[str]:
    """Each target, met or missed, with its figure."""
    lines = ["#### Targets\n"]
    if "server" in results:
        rss = results["server"]["rss"]
        lines.append(f"- server resident memory {rss:.0f} MB (target <= {RSS_TARGET_MB:.0f}): "
                     f"{'met' if rss <= RSS_TARGET_MB else 'MISSED'}")
        for name, values in results["http"].items():
            p50 = percentile(values, 50)
            lines.append(f"- {name} p50 {p50:.1f} ms (target <= {SEARCH_TARGET_MS:.0f}): "
                         f"{'met' if p50 <= SEARCH_TARGET_MS else 'MISSED'}")
    for row in results.get("recall", []):
        value = float(row[4])
        lines.append(f"- recall@10 on {row[0]}, k={row[2]}: {value:.3f} (target >= {RECALL_TARGET}): "
                     f"{'met' if value >= RECALL_TARGET else 'MISSED'}")
    return lines


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    """Parse arguments; build, or measure and record."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.01, help="per-dimension sigma of the replica noise")
    parser.add_argument("--mix-noise", type=float, default=0.01, help="per-dimension sigma of the mixtures' noise")
    parser.add_argument("--build", nargs="?", const="all", choices=["all", "index", "mixtures"],
                        help="build the index and/or the recall set (vectors only), then stop")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: http,memory,inproc,recall")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--section", default="scale-1m")
    args = parser.parse_args(argv)
    if args.probe:
        probe(Path(args.probe), json.loads(sys.stdin.read()))
        return
    import torch

    torch.set_num_threads(1)
    embedder = CachedEmbedder(torch_model())
    if args.build:
        build(args, embedder)
        return
    data = data_dir(args.data)
    sets = {"short query": pick_queries(data, args.queries), "full question": long_questions(data, args.queries // 2)}
    for queries in sets.values():
        embedder.embed(queries)
    index, skip = index_path(args.size), set(args.skip.split(","))
    facts = json.loads((ROOT / f"grown-{args.size}.json").read_text())
    results: dict[str, Any] = {}
    if "recall" not in skip:
        results["recall"] = measure_recall(args, embedder.embed(sets["short query"] + sets["full question"]))
    if "memory" not in skip:
        results["memory"] = memory_steps(index, sets["short query"][:50])
    if "inproc" not in skip:
        results["inproc"] = {f"{name}, {s}": v for s, queries in sets.items()
                             for name, v in inprocess_latencies(index, embedder, queries).items()}
    if "http" not in skip:
        results["http"], results["server"], results["startup"] = http_search(index, sets, ROOT)
    text = report(args, facts, results)
    (ROOT / f"results-{args.size}.json").write_text(json.dumps({"facts": facts, **results}, default=str))
    print(text)
    if not args.no_write:
        write_section(args.section, text)


if __name__ == "__main__":
    main()
