"""Latency of ``GET /search`` and ``POST /ask`` over HTTP, and how it grows with the index
(issue 3).

1. A base index of real text: StackFAQ (thread level) and every cardano.stackexchange thread,
   ingested with the real pipeline (embeddings from the on-disk cache after the first run).
2. Grown indexes of about 10k, 100k (and, with ``--sizes``, 1M) chunks: the base documents are
   repeated with varied ids (replica ``r`` of document ``D`` is ``D~r``, its posts ``P~r``, its
   chunk ids derived from those as the pipeline derives them), each replica's vectors being the
   base vectors plus Gaussian noise (sigma ``--noise`` per dimension, then re-normalised: cosine
   about 0.98 to the original) so that FAISS does not see exact duplicates. The rows are written
   with the same schema into a snapshot built by the real ``SnapshotWriter`` (atomic commit,
   manifest), so the real API opens it. The vector index kind is the one
   ``FaissVectors.kind_for_size`` picks for the final size (flat below 200k, HNSW above).
3. Each index is served by ``townsquare serve`` (uvicorn) in a subprocess and queried from
   this process with httpx, one request at a time, after a warm-up: p50/p95/p99 of ``/search``
   (k=10) and ``/ask`` over a few hundred StackFAQ queries; the server's resident memory.
   In-process ``Searcher.search`` latencies per mode are measured too (where the time goes).

    .venv/bin/python bench/latency.py [--sizes 10000,100000] [--queries 300] [--no-http]
                                      [--keep] [--section latency] [--data DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a file: the repository, not bench/, goes first on the path
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    CACHE_DIR,
    REPO,
    CachedEmbedder,
    cardano_members,
    cardano_thread,
    data_dir,
    ingest_or_fail,
    load_model,
    read_jsonl,
    section_header,
    table,
    timer,
    write_jsonl,
    write_section,
    write_stackfaq,
)

SEARCH_TARGET_MS = 30.0
ASK_TARGET_MS = 80.0
WARMUP = 20
BASE_INDEX = CACHE_DIR / "latency" / "base-index"


@dataclass
class SizeResult:
    """Everything measured on one grown index."""

    target: int
    chunks: int = 0
    documents: int = 0
    kind: str = ""
    build_s: float = 0.0
    vectors_s: float = 0.0
    disk_mb: float = 0.0
    startup_s: float = 0.0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    builder_peak_mb: float = 0.0
    http: dict[str, list[float]] = field(default_factory=dict)
    inproc: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- building


def build_base(data: Path, embedder: CachedEmbedder) -> Path:
    """The base index (real pipeline, incremental: a rerun embeds and writes nothing)."""
    with tempfile.TemporaryDirectory(prefix="bench-latency-src-") as tmp:
        src = write_stackfaq(data, "thread", Path(tmp) / "stackfaq")
        cardano = Path(tmp) / "cardano"
        write_jsonl((cardano_thread(t) for t in read_jsonl(data / "stackexchange-cardano" / "threads.jsonl")),
                    cardano / "cardano.jsonl")
        write_jsonl(cardano_members(data), cardano / "members.jsonl")
        ingest_or_fail([src, cardano], BASE_INDEX, embedder)
    return BASE_INDEX


def replica_plan(db: sqlite3.Connection, target: int) -> list[tuple[int, list[str]]]:
    """(replica number, document ids) to copy until about ``target`` chunks: whole replicas,
    then the first documents of one more until the target is reached."""
    sizes = [(r[0], r[1]) for r in db.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id ORDER BY doc_id")]
    total = sum(n for _, n in sizes)
    plan = [(r, [d for d, _ in sizes]) for r in range(target // total)]
    rest, part = target - total * len(plan), []
    for doc_id, n in sizes:
        if rest <= 0:
            break
        part.append(doc_id)
        rest -= n
    if part:
        plan.append((len(plan), part))
    return plan


COPY_SQL = {
    "documents": "INSERT INTO documents SELECT id || :s, kind, source, source_path, channel, title, url, tags, "
                 "visibility, is_public, created_at, body, content_hash FROM b.documents WHERE id IN {docs}",
    "doc_groups": "INSERT INTO doc_groups SELECT doc_id || :s, grp FROM b.doc_groups WHERE doc_id IN {docs}",
    "doc_tags": "INSERT INTO doc_tags SELECT doc_id || :s, tag FROM b.doc_tags WHERE doc_id IN {docs}",
    "posts": "INSERT INTO posts SELECT id || :s, doc_id || :s, position, author, created_at, text, "
             "reply_to || :s, accepted, score FROM b.posts WHERE doc_id IN {docs}",
    "authorship": "INSERT INTO authorship SELECT doc_id || :s, post_id || :s, member_id, role "
                  "FROM b.authorship WHERE doc_id IN {docs}",
    "chunks": 'INSERT INTO chunks SELECT cid(doc_id || :s, post_id || :s, ordinal), doc_id || :s, post_id || :s, '
              'ordinal, section, text, body, start, "end", author, created_at, text_hash '
              "FROM b.chunks WHERE doc_id IN {docs} ORDER BY id",
    "chunk_fts": "INSERT INTO chunk_fts (rowid, text) SELECT cid(doc_id || :s, post_id || :s, ordinal), text "
                 "FROM b.chunks WHERE doc_id IN {docs} ORDER BY id",
}


def grow(base: Path, target: int, out: Path, noise: float, seed: int = 0) -> SizeResult:
    """Write an index of about ``target`` chunks at ``out`` by replicating ``base``."""
    from retrieval.backends.faiss_index import FaissVectors
    from retrieval.backends.options import FaissOptions
    from retrieval.backends.sqlite_catalog import SQLITE_FILE
    from retrieval.hashing import chunk_id
    from retrieval.index import IndexDir
    from retrieval.writer import SnapshotWriter

    snapshot = IndexDir(base).open()
    manifest = snapshot.manifest
    base_db = snapshot.catalog.connection  # type: ignore[attr-defined]  # the default backend's SQLite
    rows = base_db.execute("SELECT id, doc_id, post_id, ordinal FROM chunks ORDER BY id").fetchall()
    base_vectors = snapshot.vectors.vectors([r[0] for r in rows])
    plan = replica_plan(base_db, target)
    snapshot.close()
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        rows_of[row[1]].append(i)
    total = sum(len(rows_of[d]) for _, docs in plan for d in docs)
    options = FaissOptions()
    result = SizeResult(target=target, kind=FaissVectors.empty(1, options=options).kind_for_size(total))
    rng = np.random.default_rng(seed)
    index_dir = IndexDir(out)
    base_sqlite = base / "snapshots" / _current(base) / SQLITE_FILE
    with timer() as build, index_dir.lock(), SnapshotWriter(
        index_dir, manifest.model_id, manifest.model_name, manifest.dimension
    ) as writer:
        # the kind the final size calls for (a fresh writer would size it for an empty index)
        vectors_builder = writer.parts.vectors  # the default backend's FAISS builder
        vectors_builder.index = FaissVectors.empty(manifest.dimension, result.kind, options)  # type: ignore[attr-defined]
        db = writer.parts.catalog.connection  # type: ignore[attr-defined]
        db.create_function("cid", 3, chunk_id, deterministic=True)
        db.execute("ATTACH DATABASE ? AS b", (f"file:{base_sqlite}?mode=ro",))
        db.execute("INSERT INTO members SELECT * FROM b.members")
        for replica, docs in plan:
            suffix = f"~{replica}" if replica else ""
            _copy_rows(db, docs, suffix)
            picked = [i for d in docs for i in rows_of[d]]
            ids = np.array([chunk_id(rows[i][1] + suffix, rows[i][2] + suffix if rows[i][2] else None, rows[i][3])
                            for i in picked], dtype=np.int64)
            vectors = base_vectors[picked]
            if replica:
                vectors = vectors + rng.normal(0.0, noise, vectors.shape).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            with timer() as add:
                vectors_builder.index.add(ids, vectors)  # type: ignore[attr-defined]
            result.vectors_s += add["s"]
        db.commit()
        db.execute("DETACH DATABASE b")
        writer.commit({"grown_from": str(base), "replicas": len(plan), "noise": noise})
    result.build_s = build["s"]
    result.builder_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    current = out / "snapshots" / _current(out)
    result.disk_mb = sum(p.stat().st_size for p in current.iterdir()) / 1e6
    counts = json.loads((current / "manifest.json").read_text())["counts"]
    result.chunks, result.documents = counts["chunks"], counts["threads"] + counts["resources"]
    return result


def _copy_rows(db: sqlite3.Connection, docs: list[str], suffix: str) -> None:
    """Copy the rows of ``docs`` from the attached base, ids suffixed with ``suffix``."""
    db.execute("DROP TABLE IF EXISTS temp.pick")
    db.execute("CREATE TEMP TABLE pick (id TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO temp.pick VALUES (?)", [(d,) for d in docs])
    for sql in COPY_SQL.values():
        db.execute(sql.format(docs="(SELECT id FROM temp.pick)"), {"s": suffix})


def _current(index: Path) -> str:
    return (index / "CURRENT").read_text().strip()


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, in the same unit."""
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, in MB (from /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    read = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]  # noqa: E731
    return read("VmRSS"), read("VmHWM")


class Server:
    """``townsquare serve`` on an index, in a subprocess, for the length of a ``with``."""

    def __init__(self, index: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.index, self.port, self.log, self.env = index, free_port(), log, env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        env.pop("OMP_NUM_THREADS", None)
        env.update(self.env)
        command = [str(REPO / ".venv" / "bin" / "townsquare"), "serve", "--index", str(self.index),
                   "--port", str(self.port)]
        self.log_file = self.log.open("wb")
        self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds until ``/health`` answers 200; raises if the server dies or never answers."""
        import httpx

        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"server not ready after {timeout:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log_file.close()


def timed(queries: list[str], make: Callable[[str], Callable[[], Any]]) -> list[float]:
    """Milliseconds per call of ``make(q)()`` for each query, after :data:`WARMUP` warm-up calls."""
    for q in queries[:WARMUP]:
        make(q)()
    out = []
    for q in queries:
        call = make(q)
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def http_latencies(server: Server, queries: list[str]) -> dict[str, list[float]]:
    """``/search`` and ``/ask`` latencies over HTTP (one request at a time)."""
    import httpx

    with httpx.Client(base_url=server.url, timeout=120) as client:
        def search(q: str) -> Callable[[], Any]:
            return lambda: client.get("/search", params={"q": q, "k": 10}).raise_for_status()

        def ask(q: str) -> Callable[[], Any]:
            return lambda: client.post("/ask", json={"question": q}).raise_for_status()

        return {"/search": timed(queries, search), "/ask": timed(queries, ask)}


def inprocess_latencies(index: Path, embedder: Any, queries: list[str]) -> dict[str, list[float]]:
    """``Searcher.search`` latency per mode, and the query embedding alone, in this process."""
    from app.settings import SearchOptions
    from retrieval.index import IndexDir
    from retrieval.search import Searcher

    snapshot = IndexDir(index).open(embedder.model_id)
    searcher = Searcher(snapshot, embedder, **SearchOptions().model_dump())
    inner = getattr(embedder, "inner", embedder)  # the real model: a cached vector would hide its cost
    out: dict[str, list[float]] = {"embed query (model)": timed(queries, lambda q: lambda: inner.embed([q]))}
    for mode in ("dense", "lexical", "hybrid"):
        out[f"search {mode}"] = timed(queries, search_call(searcher, mode))
    snapshot.close()
    return out


SERVER_CONFIGS: dict[str, dict[str, str]] = {
    "shipped": {},
    "torch 2 threads": {"TOWNSQUARE_SERVE_TORCH_THREADS": "2"},
}
"""Server variants: as shipped (``serve_torch_threads`` default), and torch on both cores."""


def search_call(searcher: Any, mode: str) -> Callable[[str], Callable[[], Any]]:
    """``make(q)`` for :func:`timed`: a call searching ``q`` in ``mode`` (k=10)."""
    return lambda q: lambda: searcher.search(q, k=10, mode=mode)


def measure(result: SizeResult, index: Path, queries: list[str], embedder: Any, http: bool, logs: Path) -> None:
    """Fill ``result`` with in-process and HTTP latencies (per server variant) and memory."""
    result.inproc = inprocess_latencies(index, embedder, queries)
    if not http:
        return
    for name, env in SERVER_CONFIGS.items():
        try:
            with Server(index, logs / f"server-{result.target}.log", env) as server:
                startup = server.wait_ready()
                assert server.proc is not None
                for endpoint, values in http_latencies(server, queries).items():
                    result.http[f"{endpoint} ({name})"] = values
                if not env:
                    result.startup_s = startup
                    result.rss_mb, result.peak_rss_mb = memory_mb(server.proc.pid)
        except Exception as e:  # noqa: BLE001 - an API failure must not lose the other figures
            result.errors.append(f"HTTP measurement ({name}) failed: {type(e).__name__}: {e}")


# --------------------------------------------------------------------------- report


def latency_rows(results: list[SizeResult], kind: str) -> list[tuple[object, ...]]:
    """One row per (size, endpoint or mode): count, p50, p95, p99, mean in ms."""
    rows = []
    for r in results:
        for name, values in getattr(r, kind).items():
            rows.append((f"{r.chunks:,}", name, len(values), *(f"{percentile(values, q):.1f}" for q in (50, 95, 99)),
                         f"{np.mean(values):.1f}"))
    return rows


def report(results: list[SizeResult], args: argparse.Namespace, n_queries: int, base_chunks: int) -> str:
    """The Markdown section for ``docs/benchmarks.md``."""
    sizes = ",".join(str(r.target) for r in results)
    build_rows = [(f"{r.chunks:,}", f"{r.documents:,}", r.kind, f"{r.build_s:.0f}", f"{r.vectors_s:.0f}",
                   f"{r.disk_mb:.0f}", f"{r.builder_peak_mb:.0f}", f"{r.startup_s:.1f}" if r.startup_s else "-",
                   f"{r.rss_mb:.0f} / {r.peak_rss_mb:.0f}" if r.rss_mb else "-") for r in results]
    lines = [
        section_header(f"Latency and scaling (issue 3): {', '.join(human(r.target) for r in results)} chunks",
                       f".venv/bin/python bench/latency.py --sizes {sizes} --queries {n_queries}"
                       + (f" --section {args.section}" if args.section != "latency" else "")
                       + (" --no-http" if args.no_http else "")),
        f"Base: StackFAQ (thread level) + all cardano.stackexchange threads through the real pipeline, "
        f"{base_chunks:,} chunks. Grown by repeating the base documents with varied ids (`D~r`), each "
        f"replica's vectors = base + N(0, {args.noise}^2) per dimension, re-normalised (cosine ~0.98 to the "
        "original); texts are repeated as they are, so FTS5 posting lists grow with the replicas. Written with "
        "the index schema into a snapshot committed by `SnapshotWriter`; vector index kind from "
        "`kind_for_size`. Queries: "
        f"{n_queries} StackFAQ queries, after {WARMUP} warm-up calls, one request at a time from this process "
        "to `townsquare serve` (uvicorn) in a subprocess, anonymous caller, `/search` with `k=10`, `/ask` with "
        "the question only. Two server variants: as shipped (torch on `serve_torch_threads` = 1 thread), and "
        "`TOWNSQUARE_SERVE_TORCH_THREADS=2` (torch on both cores, the earlier default). Server start and memory "
        "are the shipped variant's, memory after the run.\n",
        table(["chunks", "documents", "vectors", "build s", "of which FAISS add s", "disk MB",
               "bench process peak RSS MB", "server start s", "server RSS / peak MB"], build_rows),
        "",
    ]
    if any(r.http for r in results):
        lines += ["#### Over HTTP (ms)\n", table(["chunks", "endpoint", "n", "p50", "p95", "p99", "mean"],
                                               latency_rows(results, "http")), ""]
        lines += verdicts(results)
    lines += ["\n#### In process, `Searcher.search` by mode (ms; where the time goes)\n",
              "The query vector comes from the embedding cache in the `search` rows; `embed query (model)` is the "
              "model alone on the same queries (this process runs torch on one thread).\n",
              table(["chunks", "call", "n", "p50", "p95", "p99", "mean"], latency_rows(results, "inproc"))]
    errors = [f"- {r.chunks:,} chunks: {e}" for r in results for e in r.errors]
    if errors:
        lines += ["", *errors]
    return "\n".join(lines)


def human(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def verdicts(results: list[SizeResult]) -> list[str]:
    """Target checks on the p50s, per server variant."""
    lines = []
    for r in results:
        for name in SERVER_CONFIGS:
            search, ask = r.http.get(f"/search ({name})"), r.http.get(f"/ask ({name})")
            if not search or not ask:
                continue
            s, a = percentile(search, 50), percentile(ask, 50)
            lines.append(
                f"- {r.chunks:,} chunks, server {name}: /search p50 {s:.1f} ms (target <= {SEARCH_TARGET_MS:.0f}: "
                f"{'meets' if s <= SEARCH_TARGET_MS else 'MISSES'}), /ask p50 {a:.1f} ms (target <= "
                f"{ASK_TARGET_MS:.0f}: {'meets' if a <= ASK_TARGET_MS else 'MISSES'})"
            )
    return lines


# --------------------------------------------------------------------------- main


def pick_queries(data: Path, n: int) -> list[str]:
    """``n`` StackFAQ queries spread evenly over the file."""
    rows = read_jsonl(data / "stackfaq" / "queries.jsonl")
    step = max(1, len(rows) // n)
    return [r["text"] for r in rows[::step]][:n]


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, build, serve, measure, print and record."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts to grow to (comma-separated)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--noise", type=float, default=0.01, help="per-dimension sigma of the replica noise")
    parser.add_argument("--no-http", action="store_true", help="measure in process only")
    parser.add_argument("--keep", action="store_true", help="keep the grown indexes under var/bench-cache/latency")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--section", default="latency", help="section of docs/benchmarks.md to rewrite")
    args = parser.parse_args(argv)
    data = data_dir(args.data)
    import torch

    torch.set_num_threads(1)  # in-process figures: one thread is stable on a shared machine (see README)
    embedder = CachedEmbedder(load_model())
    with timer() as t:
        base = build_base(data, embedder)
    manifest = json.loads((base / "snapshots" / _current(base) / "manifest.json").read_text())
    base_chunks = int(manifest["counts"]["chunks"])
    print(f"base index: {base_chunks} chunks ({t['s']:.0f} s)", flush=True)
    queries = pick_queries(data, args.queries)
    embedder.embed(queries)
    results = []
    root = CACHE_DIR / "latency" if args.keep else Path(tempfile.mkdtemp(prefix="bench-latency-"))
    try:
        for target in (int(x) for x in args.sizes.split(",")):
            out = root / f"grown-{target}"
            shutil.rmtree(out, ignore_errors=True)
            result = grow(base, target, out, args.noise)
            print(f"grown {result.chunks} chunks ({result.kind}) in {result.build_s:.0f} s "
                  f"(FAISS add {result.vectors_s:.0f} s), {result.disk_mb:.0f} MB", flush=True)
            measure(result, out, queries, embedder, not args.no_http, root)
            results.append(result)
            print(report([result], args, len(queries), base_chunks).split("\n\n", 1)[-1], flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    text = report(results, args, len(queries), base_chunks)
    print(text)
    if not args.no_write:
        write_section(args.section, text)


if __name__ == "__main__":
    main()
