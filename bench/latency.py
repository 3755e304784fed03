"""Latency of ``GET /search`` and ``POST /ask`` over HTTP and of ``Searcher.search`` in
process, and how they grow with the index, per storage backend (issues 3, 8 and 11 part 8).

1. A base corpus of real text: StackFAQ (thread level) and every cardano.stackexchange thread,
   loaded and chunked by the real pipeline, vectors from the on-disk embedding cache; every
   ``--private-every``-th document private to the group ``mentors`` (default 20: ~5%).
2. Grown indexes of about 10k and 100k chunks per backend (``--backends sqlite-faiss,milvus``):
   the base repeated with varied ids and noisy vectors, written through the real
   ``SnapshotWriter`` and the backend's builders (``bench/grow.py``).
3. Per index, queries of two kinds — ``short`` (StackFAQ queries, 20-90 characters) and
   ``long`` (cardano questions, title + body, 300-1,000 characters) — from two callers —
   ``anonymous`` and a ``mentors`` member (an API key of that group over HTTP):
   in process, ``Searcher.search(k=10)`` per mode (query vectors from the cache; ``embed query
   (model)`` is the model alone); over HTTP, ``townsquare serve`` (uvicorn) in a subprocess,
   one request at a time after a warm-up: ``/search`` (k=10) and ``/ask``; the server's memory.

Building and measuring can run apart, so the timed part can hold the machine's bench lock:

    nice -n 19 .venv/bin/python bench/latency.py --build-only          # grow, keep under var/
    flock /work/bench.lock .venv/bin/python bench/latency.py --reuse    # measure the kept indexes

    options: [--sizes 10000,100000] [--backends sqlite-faiss,milvus] [--queries 100]
             [--milvus-queries 20] [--private-every 20] [--no-http] [--section latency]
             [--data DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: the repository, not bench/, goes first on the path
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    CACHE_DIR,
    CachedEmbedder,
    cardano_members,
    cardano_thread,
    data_dir,
    read_jsonl,
    timer,
    write_jsonl,
    write_section,
    write_stackfaq,
)
from bench.grow import Grown, grow, load_base  # noqa: E402
from bench.latency_report import report  # noqa: E402
from bench.serving import Server, memory_mb, timed  # noqa: E402

ROOT = CACHE_DIR / "latency"
CALLERS: dict[str, tuple[str, ...]] = {"anonymous": (), "mentors": ("mentors",)}
MODES = ("dense", "lexical", "hybrid")
KEY_FILE = "bench-key.txt"
Row = tuple[str, str, str]
"""(call or endpoint, query kind, caller)."""


@dataclass
class Run:
    """Everything measured on one grown index."""

    backend: str
    target: int
    grown: Grown
    queries: int = 0
    startup_s: float = 0.0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    http: dict[Row, list[float]] = field(default_factory=dict)
    inproc: dict[Row, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- inputs


def base_sources(data: Path, folder: Path) -> list[Path]:
    """StackFAQ (thread level) and cardano written in the native format under ``folder``."""
    src = write_stackfaq(data, "thread", folder / "stackfaq")
    cardano = folder / "cardano"
    write_jsonl((cardano_thread(t) for t in read_jsonl(data / "stackexchange-cardano" / "threads.jsonl")),
                cardano / "cardano.jsonl")
    write_jsonl(cardano_members(data), cardano / "members.jsonl")
    return [src, cardano]


def query_sets(data: Path, n: int) -> dict[str, list[str]]:
    """``short`` and ``long`` queries, ``n`` of each, spread evenly over their files."""
    faq = [r["text"] for r in read_jsonl(data / "stackfaq" / "queries.jsonl")]
    threads = read_jsonl(data / "stackexchange-cardano" / "threads.jsonl")
    questions = [q for q in (f"{t['title']}\n{t['question']['text']}" for t in threads) if 300 <= len(q) <= 1000]
    return {"short": faq[:: max(1, len(faq) // n)][:n], "long": questions[:: max(1, len(questions) // n)][:n]}


def index_path(backend: str, target: int, private_every: int, embedder: str = "torch") -> Path:
    """Where the grown index of ``backend`` and size ``target`` is kept; an index built by
    another embedder than torch (whose indexes came first) has the embedder's name appended."""
    return ROOT / (f"grown-{backend}-{target}" + ("" if private_every else "-public")
                   + ("" if embedder == "torch" else f"-{embedder}"))


def build(args: argparse.Namespace, data: Path, embedder: Any) -> None:
    """Grow every (backend, size) index under :data:`ROOT`, with a member key of ``mentors``."""
    from app.keys import KeyStore
    from retrieval.backends import BackendConfig

    with tempfile.TemporaryDirectory(prefix="bench-latency-src-") as tmp, timer() as t:
        base = load_base(base_sources(data, Path(tmp)), embedder, args.private_every)
    print(f"base: {len(base.documents)} documents, {base.chunks} chunks ({t['s']:.0f} s)", flush=True)
    for backend in args.backends.split(","):
        for target in sizes(args):
            out = index_path(backend, target, args.private_every, args.embedder)
            shutil.rmtree(out, ignore_errors=True)
            grown = grow(base, target, out, args.noise, BackendConfig(backend), progress=getattr(args, "progress", 0))
            (out / "grown.json").write_text(json.dumps(asdict(grown)))
            (out / KEY_FILE).write_text(KeyStore(out).add("bench-mentors", ["mentors"], "member"))
            print(f"{backend}: grown {grown.chunks} chunks ({grown.kind}, {grown.private_documents} private "
                  f"documents) in {grown.build_s:.0f} s, {grown.disk_mb:.0f} MB", flush=True)


def sizes(args: argparse.Namespace) -> list[int]:
    """The chunk counts asked for."""
    return [int(x) for x in args.sizes.split(",") if x]


# --------------------------------------------------------------------------- measuring


def inprocess(run: Run, index: Path, embedder: Any, queries: dict[str, list[str]], warmup: int) -> None:
    """``Searcher.search`` per mode, query kind and caller, and the model alone per kind."""
    from app.settings import SearchOptions
    from retrieval.backends import BackendConfig
    from retrieval.index import IndexDir
    from retrieval.search import Searcher

    snapshot = IndexDir(index, BackendConfig(run.backend)).open(embedder.model_id)
    try:
        searcher = Searcher(snapshot, embedder, **SearchOptions().model_dump())
        inner = getattr(embedder, "inner", embedder)  # the real model: a cached vector would hide its cost
        for kind, texts in queries.items():
            run.inproc[("embed query (model)", kind, "-")] = timed(texts, lambda q: lambda: inner.embed([q]), warmup)
            for caller, groups in CALLERS.items():
                for mode in MODES:
                    call = search_call(searcher, mode, groups)
                    run.inproc[(f"search {mode}", kind, caller)] = timed(texts, call, warmup)
    finally:
        snapshot.close()


def search_call(searcher: Any, mode: str, groups: tuple[str, ...]) -> Callable[[str], Callable[[], Any]]:
    """``make(q)`` for :func:`timed`: a call searching ``q`` in ``mode`` (k=10) as ``groups``."""
    return lambda q: lambda: searcher.search(q, k=10, mode=mode, groups=groups)


def over_http(run: Run, index: Path, queries: dict[str, list[str]], warmup: int, logs: Path) -> None:
    """``/search`` and ``/ask`` per query kind and caller against ``townsquare serve``."""
    import httpx

    headers = {"anonymous": {}, "mentors": {"X-API-Key": (index / KEY_FILE).read_text().strip()}}
    env = {"TOWNSQUARE_BACKEND": run.backend}
    with Server(index, logs / f"server-{run.backend}-{run.target}.log", env) as server:
        run.startup_s = server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=300) as client:
            for kind, texts in queries.items():
                for caller, header in headers.items():
                    def search(q: str, h: dict[str, str] = header) -> Callable[[], Any]:
                        return lambda: client.get("/search", params={"q": q, "k": 10}, headers=h).raise_for_status()

                    def ask(q: str, h: dict[str, str] = header) -> Callable[[], Any]:
                        return lambda: client.post("/ask", json={"question": q}, headers=h).raise_for_status()

                    run.http[("/search", kind, caller)] = timed(texts, search, warmup)
                    run.http[("/ask", kind, caller)] = timed(texts, ask, warmup)
        assert server.proc is not None
        run.rss_mb, run.peak_rss_mb = memory_mb(server.proc.pid)


def measure(args: argparse.Namespace, embedder: Any, queries: dict[str, list[str]], logs: Path) -> list[Run]:
    """Every kept (backend, size) index, in process then over HTTP."""
    runs = []
    for backend in args.backends.split(","):
        n, warmup = (args.milvus_queries, args.milvus_warmup) if backend == "milvus" else (args.queries, args.warmup)
        subset = {kind: texts[:n] for kind, texts in queries.items()}
        for target in sizes(args):
            index = index_path(backend, target, args.private_every, args.embedder)
            run = Run(backend, target, Grown(**json.loads((index / "grown.json").read_text())), queries=n)
            with timer() as t:
                try:  # the server first: milvus-lite lets one process open a file, and this one never lets go
                    if not args.no_http:
                        over_http(run, index, subset, warmup, logs)
                    inprocess(run, index, embedder, subset, warmup)
                except Exception as e:  # noqa: BLE001 - one backend failing must not lose the others
                    run.errors.append(f"{type(e).__name__}: {e}")
            print(f"{backend} {run.grown.chunks}: measured in {t['s']:.0f} s {run.errors or ''}", flush=True)
            runs.append(run)
    return runs


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts to grow to (comma-separated)")
    parser.add_argument("--backends", default="sqlite-faiss,milvus", help="storage backends (comma-separated)")
    parser.add_argument("--queries", type=int, default=100, help="queries of each kind per row")
    parser.add_argument("--milvus-queries", type=int, default=20, help="queries of each kind per Milvus row")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up calls per row")
    parser.add_argument("--milvus-warmup", type=int, default=3, help="warm-up calls per Milvus row")
    parser.add_argument("--private-every", type=int, default=20, help="every n-th document private (0: none)")
    parser.add_argument("--noise", type=float, default=0.01, help="per-dimension sigma of the replica noise")
    parser.add_argument("--embedder", default="torch", help="embedder of the grown indexes (torch, onnx)")
    parser.add_argument("--no-http", action="store_true", help="measure in process only")
    parser.add_argument("--build-only", action="store_true", help="grow and keep the indexes, measure nothing")
    parser.add_argument("--reuse", action="store_true", help="measure the kept indexes, grow nothing")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--section", default="latency", help="section of docs/benchmarks.md to rewrite")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Grow (unless ``--reuse``), measure (unless ``--build-only``), print and record."""
    args = parse(argv)
    data = data_dir(args.data)
    import torch

    from retrieval.embedding import load_embedder

    torch.set_num_threads(1)  # in-process figures: one thread is stable on a shared machine (see README)
    embedder = CachedEmbedder(load_embedder(name=args.embedder))
    if args.build_only:
        build(args, data, embedder)
        return
    if not args.reuse:  # in a child: milvus-lite files stay held by the process that opened them
        command = [sys.executable, str(Path(__file__).resolve()), *(sys.argv[1:] if argv is None else argv)]
        subprocess.run([*command, "--build-only"], check=True)
    queries = query_sets(data, max(args.queries, args.milvus_queries))
    from retrieval.query_vector import split_title

    texts = [q for kind in queries.values() for q in kind]
    # a question's title line is embedded too (title weighting): cached as well, or the first
    # pass over the long questions would time the model on every title (~20 ms each)
    embedder.embed(texts + [split_title(q)[0] for q in texts if split_title(q)[1]])
    logs = ROOT / "logs"  # the servers' output, kept for a failed run
    logs.mkdir(parents=True, exist_ok=True)
    runs = measure(args, embedder, queries, logs)
    text = report(runs, args, queries)
    print(text)
    if not args.no_write:
        write_section(args.section, text)


if __name__ == "__main__":
    main()
