"""The storage seam's "default backend unchanged" check (issue 8, part 2): the same grown
indexes served and searched by the code before the seam and by this checkout, back to back.

Inputs: the public-only ``sqlite-faiss`` indexes ``bench/latency.py --build-only --backends
sqlite-faiss --private-every 0`` keeps (torch embedder: the code before the seam has only that
one). The code before the seam reads the same ``index.sqlite`` and ``vectors.faiss`` (same
schema) through a hard-linked copy whose manifest leaves out the two fields it does not know
(``backend``, ``storage``). Each tree is measured by running this file as a child process with
``PYTHONPATH=<tree>`` (in process: ``Searcher.search(k=10)`` per mode, query vectors given) and
by ``townsquare serve`` of that tree (over HTTP: ``/search`` k=10 and ``/ask``, anonymous,
short StackFAQ queries; wall time per request and the server's CPU time per request, which a
loaded machine disturbs much less — the rows of the latency section when the issue was written). Trees
alternate (before, after, after, before) so a drift of the machine's load hits both alike.

    git archive c22b98c | tar -x -C /tmp/preseam      # the tree before the seam
    nice -n 19 .venv/bin/python bench/latency.py --build-only --backends sqlite-faiss --private-every 0
    flock /work/bench.lock .venv/bin/python bench/latency_seam.py --before /tmp/preseam
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MODES = ("dense", "lexical", "hybrid")


class GivenVectors:
    """Query vectors computed beforehand, at the Embedder Protocol (both trees search alike)."""

    def __init__(self, model_id: str, texts: list[str], vectors: np.ndarray) -> None:
        self.model_id, self.model_name, self.dimension, self.max_tokens = model_id, "given", vectors.shape[1], 256
        self._of = dict(zip(texts, vectors, strict=True))

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return np.stack([self._of[t] for t in texts])

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def child(index: Path, inputs: Path, out: Path, warmup: int) -> None:
    """In-process timings of whichever tree is first on ``PYTHONPATH``, written to ``out``."""
    from app.settings import SearchOptions
    from retrieval.index import IndexDir
    from retrieval.search import Searcher

    queries = json.loads((inputs / "queries.json").read_text())
    model_id = json.loads((inputs / "model.json").read_text())["model_id"]
    embedder = GivenVectors(model_id, queries, np.load(inputs / "vectors.npy"))
    snapshot = IndexDir(index).open(model_id)
    searcher = Searcher(snapshot, embedder, **SearchOptions().model_dump())  # type: ignore[arg-type]
    result: dict[str, list[float]] = {}
    for mode in MODES:
        for q in queries[:warmup]:
            searcher.search(q, k=10, mode=mode)
        times, cpu = [], []
        for q in queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            searcher.search(q, k=10, mode=mode)
            cpu.append((time.process_time() - start_cpu) * 1000)
            times.append((time.perf_counter() - start) * 1000)
        result[f"search {mode} (in process)"] = times
        result[f"search {mode} (in process, CPU time)"] = cpu
    snapshot.close()
    out.write_text(json.dumps(result))


def strip_manifest(index: Path, copy: Path) -> Path:
    """A hard-linked copy of ``index`` whose manifest has only the fields the old code reads."""
    import shutil

    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(index, copy, copy_function=os.link)
    for manifest in copy.glob("snapshots/*/manifest.json"):
        data = json.loads(manifest.read_text())
        data.pop("backend", None), data.pop("storage", None)
        manifest.unlink()  # a hard link: the original keeps its own
        manifest.write_text(json.dumps(data, indent=2))
    return copy


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far, in ms (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def measure_tree(tree: Path, index: Path, inputs: Path, queries: list[str], warmup: int, logs: Path) -> dict:
    """In-process rows (child process) and HTTP rows (that tree's server) of ``tree``."""
    from bench.serving import Server, timed

    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    out = logs / "child.json"
    subprocess.run([sys.executable, __file__, "--child", str(index), str(inputs), str(out), str(warmup)],
                   env=env, check=True, cwd=tree)
    result: dict[str, Any] = json.loads(out.read_text())
    command = [sys.executable, "-c", "from app.cli import main; main()"]
    import httpx

    with Server(index, logs / "server.log", {"PYTHONPATH": str(tree)}, command, cwd=tree) as server:
        result["server start s"] = server.wait_ready()
        assert server.proc is not None
        pid = server.proc.pid
        with httpx.Client(base_url=server.url, timeout=120) as client:
            calls = {"/search": lambda q: lambda: client.get("/search", params={"q": q, "k": 10}).raise_for_status(),
                     "/ask": lambda q: lambda: client.post("/ask", json={"question": q}).raise_for_status()}
            for endpoint, make in calls.items():
                for q in queries[:warmup]:
                    make(q)()
                before = cpu_ms(pid)
                result[f"{endpoint} (HTTP)"] = timed(queries, make, 0)
                result[f"{endpoint} server CPU ms per request (mean)"] = [(cpu_ms(pid) - before) / len(queries)]
    return result


def main(argv: list[str] | None = None) -> None:
    """Both trees on each kept index, alternating; print and record the section."""
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    from bench.common import CachedEmbedder, data_dir, write_section
    from bench.latency import index_path, query_sets
    from bench.latency_seam_report import report
    from retrieval.embedding import load_embedder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a checkout of the code before the seam (c22b98c)")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--data")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    queries = query_sets(data_dir(args.data), args.queries)["short"]
    embedder = CachedEmbedder(load_embedder(name="torch"))
    import tempfile

    trees = {"before": Path(args.before).resolve(), "after": Path(__file__).resolve().parents[1]}
    results: dict[tuple[int, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-seam-") as tmp:
        inputs = Path(tmp)
        (inputs / "queries.json").write_text(json.dumps(queries))
        (inputs / "model.json").write_text(json.dumps({"model_id": embedder.model_id}))
        np.save(inputs / "vectors.npy", embedder.embed(queries))
        for size in (int(s) for s in args.sizes.split(",")):
            index = index_path("sqlite-faiss", size, 0)
            copies = {"after": index, "before": strip_manifest(index, index.with_name(index.name + "-preseam"))}
            for name in ("before", "after", "after", "before"):
                got = measure_tree(trees[name], copies[name], inputs, queries, args.warmup, inputs)
                results.setdefault((size, name), []).append(got)
                print(size, name, {k: round(float(np.median(v)), 2) if isinstance(v, list) else v
                                   for k, v in got.items()}, flush=True)
    text = report(results, args, queries)
    print(text)
    if not args.no_write:
        write_section("latency-seam", text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
