"""Query latency at ~100k chunks as a user gets it, Townsquare side by side with its peers
(issue 11, the target "query p50 in process <= 0.5x txtai's at 100k chunks, same run, with
private content present and for full questions as well as short queries").

1. Base (under ``nice``, before any timing): the whole SemEval-2015 pooled corpus (each
   comment a one-post thread) loaded and chunked by Townsquare's real pipeline, every 20th thread (5%) private
   to the group ``mentors``; vectors: :class:`HashedVectors` (384 dimensions, no model: see
   there why latency does not need the model's vectors).
2. Grown to ``--chunks`` (default 100,000) by ``bench.grow.grow``: the base documents
   repeated with new ids (``D~r``), visibility kept, vectors copied *without* noise, so every
   system indexes exactly the same (text, document id, vector) units: the chunks of the grown
   index, read back in id order.
3. Queries (SemEval questions of 300-1,000 characters, spread over the set): ``full`` = title +
   body, as a forum member asks; ``short`` = the same questions' titles. Query vectors are
   computed before timing and looked up by every system (an encode, the same for all, is left out).
4. Each system in a fresh child process (a session of its own): build (still under ``nice``),
   then — holding the machine-wide bench lock (``--lock``), back at normal priority and its
   session's autogroup raised to -20 — warm-up and one query at a time, a page of ``k=10``
   documents (the API's default page): Townsquare ``Searcher.search(k=10, collapse=True)`` as
   anonymous and as a ``mentors`` member (as shipped: its hybrid mode runs the keyword search
   in a second thread beside the dense one); peers have no access control, so they search
   everything (which can only favour them), asking for ``3k`` chunks collapsed to ``k``
   documents. Every child gets ``OMP_NUM_THREADS=1``.

Writes ``latency`` into ``var/bench-cache/peers/results.json`` and re-renders the ``peers``
section of docs/benchmarks.md (``bench/peers_report.py``).

    nice -n 19 .venv/bin/python bench/peers_latency.py [--chunks 100000] [--queries 100]

The systems ``townsquare-bm25-sparse`` and ``townsquare-hybrid-sparse`` (not in the default
list) search the same snapshot with the ``sparse`` lexical index in place of FTS5 (built
beside it from the catalog's chunk texts, ``bench/peer_systems.sparse_beside``); run them with
``--systems ... --results DIR`` to keep the shared results as they are.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CACHE_DIR, data_dir, read_jsonl, vector_kind  # noqa: E402
from bench.peer_systems import LazyModel, make  # noqa: E402

ROOT = CACHE_DIR / "peers-latency-hashed"
GROUP = "mentors"
CALLERS = {"anonymous": (), GROUP: (GROUP,)}
PRIVATE_EVERY = 20
PAGE = 10
DIMENSION = 384


class HashedVectors:
    """The vectors of this latency run: a hashed bag of words in the model's 384 dimensions,
    L2-normalised, memoised per text — a stand-in at the Embedder Protocol (and for the peers'
    shared vectors) so that a 100k-chunk run needs no model time on a busy 2-core machine.
    Search cost does not depend on what the vectors mean (flat search scans them all; txtai's
    IVF probes a fixed share of cells); quality is measured with the real model elsewhere.
    Tokens are counted with the model's tokenizer, so chunks are cut as the product cuts them."""

    model_id, model_name, dimension, max_tokens = "word-hash-384", "word-hash", DIMENSION, 256

    def __init__(self) -> None:
        self.memory: dict[str, np.ndarray] = {}
        self.tokens = LazyModel()
        self.cached = self  # the shape of ``SharedVectors`` the systems expect

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.memory[text] if text in self.memory else self._one(text)
        return out

    def __call__(self, texts: Any) -> np.ndarray:
        return self.embed(list(texts))

    def _one(self, text: str) -> np.ndarray:
        vector = np.zeros(DIMENSION, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()) or ["empty"]:
            vector[int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % DIMENSION] += 1
        vector /= np.linalg.norm(vector) or 1.0
        self.memory[text] = vector
        return vector

    def count_tokens(self, text: str) -> int:
        return self.tokens.count_tokens(text)


SYSTEMS = ["townsquare-hybrid", "townsquare-dense", "townsquare-bm25", "txtai-hybrid", "txtai-dense",
           "langchain-faiss", "langchain-ensemble", "bm25s"]


def base_sources(data: Path) -> Path:
    """The SemEval pooled corpus written as native sources, every 20th thread (5%) private."""
    from app.evaluate import AUTHOR, collection_threads, write_sources
    from retrieval.evaluation import read_collection

    threads = collection_threads(read_collection(data / "semeval2015-qatarliving"))
    for n, thread in enumerate(threads):
        if n % PRIVATE_EVERY == 0:
            thread["visibility"] = [GROUP]
    member = {"id": AUTHOR, "name": "Qatar Living", "handles": {}, "opt_out": False}
    return Path(write_sources(threads, [member], ROOT / "sources"))


def grown_index(data: Path, chunks: int) -> Path:
    """The base (loaded and chunked by the real pipeline, :class:`HashedVectors`) grown to
    about ``chunks`` chunks by :func:`bench.grow.grow` without noise (reused when it exists
    with that target and the vector kind the default options pick for that size; a flat
    index keeps its old folder name)."""
    from bench.grow import grow, load_base
    from retrieval.backends.faiss_index import FaissVectors

    kind = FaissVectors.empty(HashedVectors.dimension).kind_for_size(chunks)
    out = ROOT / (f"grown-{chunks}" if kind == "flat" else f"grown-{chunks}-{kind}")
    if (out / "CURRENT").exists() and (out.parent / f"{out.name}.json").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    base = load_base([base_sources(data)], HashedVectors())  # visibility comes with the sources
    result = grow(base, chunks, out, noise=0.0)
    (out.parent / f"{out.name}.json").write_text(json.dumps({"chunks": result.chunks, "build_s": result.build_s}))
    return out


def query_sets(data: Path, n: int) -> dict[str, list[str]]:
    """``full`` (title + body, 300-1,000 characters) and ``short`` (their titles), ``n`` each."""
    rows = [r for r in read_jsonl(data / "semeval2015-qatarliving" / "queries.jsonl")
            if 300 <= len(r["text"]) <= 1000 and r.get("title", "").strip()]
    picked = rows[:: max(1, len(rows) // n)][:n]
    return {"short": [r["title"].strip() for r in picked], "full": [r["text"] for r in picked]}


@contextlib.contextmanager
def timing_slot(lock: Path) -> Iterator[None]:
    """Hold the machine-wide bench lock and run at normal priority for the ``with`` body (this
    process was started under ``nice`` to build), its own session's autogroup raised to -20 so
    other sessions' work does not take its CPU share; both drop back afterwards."""
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with contextlib.suppress(PermissionError):
                os.setpriority(os.PRIO_PROCESS, 0, 0)  # lowering niceness needs root
            autogroup(-20)
            yield
        finally:
            autogroup(0)
            os.setpriority(os.PRIO_PROCESS, 0, 19)
            fcntl.flock(handle, fcntl.LOCK_UN)


def autogroup(nice: int) -> None:
    """Set this session's autogroup niceness (each child runs in a session of its own); where
    the kernel or the permissions do not allow it, nothing changes."""
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(nice))


def timed(engine: Any, texts: list[str]) -> list[float]:
    """Milliseconds per ``engine.search(text, PAGE)``, one at a time, after a warm-up."""
    for text in texts[:10]:
        engine.search(text, PAGE)
    out = []
    for text in texts:
        start = time.perf_counter()
        engine.search(text, PAGE)
        out.append((time.perf_counter() - start) * 1000)
    return out


def child(system: str, index: Path, queries_file: Path, lock: Path, out: Path) -> None:
    """Build ``system`` on the grown index's units, then time its queries under the lock."""
    from bench.peers import chunk_units

    queries = json.loads(queries_file.read_text())
    vectors = HashedVectors()
    vectors([t for texts in queries.values() for t in texts])  # query vectors into memory
    engine = make(system, vectors, Path("."), depth=3 * PAGE)
    start = time.perf_counter()
    if system.startswith("townsquare"):
        engine.open(index)
        callers = CALLERS
    else:
        engine.build(chunk_units(index))
        callers = {"everyone": ()}
    build_s = time.perf_counter() - start
    rows = []
    with timing_slot(lock):
        load = os.getloadavg()[0]
        for kind, texts in queries.items():
            for caller, groups in callers.items():
                engine.groups = groups
                ms = timed(engine, texts)
                rows.append({"kind": kind, "caller": caller, "ms": ms})
    status = Path("/proc/self/status").read_text()
    peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    out.write_text(json.dumps({"system": system, "build_s": build_s, "peak_mb": peak, "load": load, "rows": rows}))


def run_children(systems: list[str], index: Path, queries_file: Path, lock: Path,
                 results: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every system in its own child process, all started at once: they build side by side
    (under ``nice``), then each times its queries alone, holding the lock in turn. Results by
    system; a failed child is left out (its error printed)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    running = {}
    for system in systems:
        out = (results or index.parent) / f"result-{index.name}-{system}.json"
        out.unlink(missing_ok=True)
        command = [sys.executable, __file__, "--child", system, str(index), str(queries_file), str(lock), str(out)]
        running[system] = (out, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                                 text=True, env=env, start_new_session=True))
    results = {}
    for system, (out, proc) in running.items():
        _, err = proc.communicate()
        if proc.returncode != 0:
            print(f"{system} failed:\n{err[-3000:]}", flush=True)
            continue
        results[system] = dict(json.loads(out.read_text()))
        print(system, [(r["kind"], r["caller"], round(sorted(r["ms"])[len(r["ms"]) // 2], 2))
                       for r in results[system]["rows"]], flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1], Path(argv[2]), Path(argv[3]), Path(argv[4]), Path(argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100, help="questions (each asked short and full)")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--lock", default="/work/bench.lock", help="machine-wide lock held while timing")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--results", help="folder for this run's results (latency.json there), leaving the "
                        "shared results.json and docs/benchmarks.md alone (e.g. a run of the -sparse systems)")
    args = parser.parse_args(argv)
    os.setpriority(os.PRIO_PROCESS, 0, max(19, os.getpriority(os.PRIO_PROCESS, 0)))  # build under nice
    data = data_dir(args.data)
    queries = query_sets(data, args.queries)
    index = grown_index(data, args.chunks)
    queries_file = ROOT / f"queries-{args.queries}.json"
    queries_file.write_text(json.dumps(queries))
    grown = json.loads((index.parent / f"{index.name}.json").read_text())
    record: dict[str, Any] = {"chunks": grown["chunks"], "grow_s": grown["build_s"], "systems": {},
                              "private_share": 1 / PRIVATE_EVERY, "page": PAGE, "vector_kind": vector_kind(index),
                              "query_chars": {k: sorted(len(t) for t in v) for k, v in queries.items()},
                              "run": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                              "command": "python bench/peers_latency.py " + " ".join(argv)}
    results = Path(args.results) if args.results else None
    if results is not None:
        results.mkdir(parents=True, exist_ok=True)
    record["systems"] = run_children(args.systems.split(","), index, queries_file, Path(args.lock), results)
    if results is not None:
        (results / f"latency-{args.chunks}.json").write_text(json.dumps(record))
        return
    from bench.peers import save_part

    save_part("latency", record, record["command"], write=not args.no_write, key=str(args.chunks))


if __name__ == "__main__":
    main()
