"""Townsquare side by side with txtai, LangChain and bm25s (issue 11, parts 1-2).

Datasets (read from ``../shared/data`` at run time): StackFAQ at thread and answer level
(as in ``bench/quality.py``) and the SemEval-2015 Qatar Living pooled retrieval set (each
comment a document, each question title + body a query, graded 2/1/0).

1. Prepare (this process): each dataset goes through Townsquare's real ingest once; its chunk
   texts and their document ids are the *units* every system indexes; every unit and query
   is embedded once (all-MiniLM-L6-v2 from the product's model path) into the disk cache
   ``var/bench-cache`` that all systems read.
2. Run: each (system, dataset, size) in a fresh child process (``--child``): build seconds,
   per-query search latency in process (query vectors come from the cache for every system),
   peak resident memory of the child (imports included), and the top 100 documents per query.
3. Score with ``retrieval.evaluation`` (ir_measures / trec_eval): nDCG@10, MRR@10, Recall@100.
4. Ingest: Townsquare's pipeline with the real model vs LangChain ``FAISS.from_texts`` with
   ``HuggingFaceEmbeddings`` (same model path) vs the raw model encode, on the same texts.

``--sizes`` adds latency/memory runs on the SemEval units replicated N times (same texts,
new ids). Results: ``docs/benchmarks.md`` (section ``peers``) and ``var/bench-cache/peers/
results.json`` (for ``bench/plots.py``).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    CACHE_DIR,
    data_dir,
    ingest_or_fail,
    read_jsonl,
    timer,
    write_section,
    write_stackfaq,
)
from bench.peer_systems import SYSTEMS, SharedVectors, make  # noqa: E402

ROOT = CACHE_DIR / "peers"
DATASETS = ["stackfaq-thread", "stackfaq-answer", "semeval2015"]
DEPTH = 100
PEERS = [s for s in SYSTEMS if not s.startswith("townsquare")]


def prepare(data: Path, name: str, max_queries: int = 0, semeval_questions: int = 0) -> Path:
    """Sources, Townsquare index (incremental), units, queries and qrels of one dataset;
    ``max_queries`` > 0 keeps that many queries spread over the set; ``semeval_questions`` > 0
    pools only the comments of the first that many SemEval questions (a smaller pooled corpus)."""
    from app.evaluate import AUTHOR, collection_threads, write_sources
    from retrieval.evaluation import read_collection, read_qrels

    folder = ROOT / name
    if name.startswith("stackfaq"):
        level = name.split("-")[1]
        sources = write_stackfaq(data, level, folder / "sources")
        queries = {r["id"]: r["text"] for r in read_jsonl(data / "stackfaq" / "queries.jsonl")}
        qrels = read_qrels(data / "stackfaq" / ("answer_level" if level == "answer" else "") / "qrels.tsv")
    else:
        collection = read_collection(data / "semeval2015-qatarliving")
        if semeval_questions:
            collection = first_questions(collection, semeval_questions)
        member = {"id": AUTHOR, "name": "Qatar Living", "handles": {}, "opt_out": False}
        sources = write_sources(collection_threads(collection), [member], folder / "sources")
        queries, qrels = collection.queries, collection.qrels
    if max_queries and len(queries) > max_queries:
        step = len(queries) / max_queries
        keys = list(queries)
        queries = {keys[int(i * step)]: queries[keys[int(i * step)]] for i in range(max_queries)}
    vectors = SharedVectors()
    ingest_or_fail([sources], folder / "index", vectors.cached)
    units = chunk_units(folder / "index")
    texts = [t for t, _ in units] + list(queries.values())
    for start in range(0, len(texts), 128):  # fill the cache once, saved as it goes
        vectors(texts[start : start + 128])
    (folder / "task.json").write_text(json.dumps({"units": units, "queries": queries, "qrels": qrels,
                                                  "sources": str(sources)}))
    return folder


def first_questions(collection: Any, n: int) -> Any:
    """``collection`` cut to its first ``n`` queries and the comments judged for them."""
    from retrieval.evaluation import Collection

    keys = list(collection.queries)[:n]
    qrels = {q: collection.qrels[q] for q in keys}
    docs = {d for q in keys for d in qrels[q]}
    return Collection({d: v for d, v in collection.corpus.items() if d in docs},
                      {q: collection.queries[q] for q in keys}, qrels)


def chunk_units(index: Path) -> list[tuple[str, str]]:
    """(chunk text, document id) of every chunk of a Townsquare index, in id order."""
    from retrieval.index import IndexDir

    snapshot = IndexDir(index).open()
    units = [(text, doc_id) for _, doc_id, text in snapshot.catalog.chunk_texts()]
    snapshot.close()
    return units


def replicate(task: dict[str, Any], times: int, folder: Path) -> dict[str, Any]:
    """``task`` with its units (and Townsquare sources) repeated ``times`` (ids suffixed ~r)."""
    units = [(t, f"{d}~{r}" if r else d) for r in range(times) for t, d in task["units"]]
    rows = read_jsonl(Path(task["sources"]) / "threads.jsonl")
    out = folder / "sources"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "threads.jsonl").open("w", encoding="utf-8") as f:
        for r in range(times):
            for row in rows:
                suffix = f"~{r}" if r else ""
                posts = [{**p, "id": p["id"] + suffix} for p in row["posts"]]
                f.write(json.dumps({**row, "id": row["id"] + suffix, "posts": posts}) + "\n")
    (out / "members.jsonl").write_text((Path(task["sources"]) / "members.jsonl").read_text())
    return {**task, "units": units, "sources": str(out)}


def child(system: str, folder: Path, times: int, queries_cap: int, out: Path) -> None:
    """Build ``system`` on one dataset, run its queries, write the measurements to ``out``."""
    import numpy as np

    task = json.loads((folder / "task.json").read_text())
    if times > 1:
        task = replicate(task, times, Path(os.environ.get("TMPDIR", "/tmp")) / f"peers-{os.getpid()}")
    vectors = SharedVectors()
    queries = list(task["queries"].items())[: queries_cap or None]
    engine = make(system, vectors, Path(task["sources"]))
    start = time.perf_counter()
    engine.build([tuple(u) for u in task["units"]])
    build_s = time.perf_counter() - start
    for _, text in queries[:5]:
        engine.search(text, DEPTH)  # warm-up
    run, times_ms = {}, []
    for query_id, text in queries:
        start = time.perf_counter()
        run[query_id] = engine.search(text, DEPTH)
        times_ms.append((time.perf_counter() - start) * 1000)
    # VmHWM belongs to this process image (ru_maxrss would carry the parent's peak over fork + exec)
    status = Path("/proc/self/status").read_text()
    peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    out.write_text(json.dumps({
        "system": system, "units": len(task["units"]), "build_s": build_s, "peak_mb": peak,
        "p50_ms": float(np.percentile(times_ms, 50)), "p95_ms": float(np.percentile(times_ms, 95)),
        "run": run, "load": os.getloadavg()[0],
    }))


def run_child(system: str, folder: Path, times: int = 1, queries_cap: int = 0, reuse: bool = False,
              ) -> dict[str, Any] | None:
    """One child run; None (and the error printed) if it failed. ``reuse``: a result file this
    script wrote earlier for the same run is read instead (same units, queries and cache)."""
    return run_children([system], folder, times, queries_cap, reuse)[system]


def run_children(systems: list[str], folder: Path, times: int = 1, queries_cap: int = 0, reuse: bool = False,
                 ) -> dict[str, dict[str, Any] | None]:
    """Child runs of ``systems`` on one dataset, side by side (quality does not depend on load;
    on a shared machine under ``nice`` each child gets its own share of the cores)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    running: dict[str, Any] = {}
    for system in systems:
        out = folder / f"result-{system}-x{times}.json"
        if not (reuse and out.exists()):
            command = [sys.executable, __file__, "--child", system, str(folder), str(times), str(queries_cap), str(out)]
            running[system] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                               env=env)
    results: dict[str, dict[str, Any] | None] = {}
    for system in systems:
        out = folder / f"result-{system}-x{times}.json"
        proc = running.get(system)
        if proc is not None:
            _, err = proc.communicate()
            if proc.returncode != 0:
                print(f"{system} on {folder.name} x{times} failed:\n{err[-3000:]}", flush=True)
                results[system] = None
                continue
        results[system] = dict(json.loads(out.read_text()))
    return results


def score(result: dict[str, Any], qrels: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Mean and per-query measures of one run."""
    from retrieval.evaluation import RETRIEVAL_MEASURES, mean_scores, per_query

    judged = {q: qrels[q] for q in result["run"] if q in qrels}
    values = per_query(judged, result["run"], RETRIEVAL_MEASURES)
    return {"means": mean_scores(values), "ndcg": values["nDCG@10"]}


def ingest_race(data: Path, n: int) -> dict[str, Any]:
    """Seconds for Townsquare's ingest (the whole pipeline, real model, no cache) with its
    default embedder for new indexes (ONNX Runtime, int8) and with torch; LangChain
    ``FAISS.from_texts`` with ``HuggingFaceEmbeddings`` (sentence-transformers, torch); and
    each runtime's raw encode — all on the chunk texts of the first ``n`` SemEval documents,
    every runtime on one thread, every system imported and warmed up before its timing."""
    import tempfile

    import torch
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    from app.evaluate import AUTHOR, collection_threads, write_sources
    from retrieval.embedders.onnx_runtime import OnnxEmbedder
    from retrieval.embedding import default_model_path, load_embedder
    from retrieval.evaluation import read_collection

    torch.set_num_threads(1)
    rows = collection_threads(read_collection(data / "semeval2015-qatarliving"))[:n]
    members = [{"id": AUTHOR, "name": "Qatar Living", "handles": {}, "opt_out": False}]
    embedders = {"onnx": OnnxEmbedder(None, threads=1), "torch": load_embedder(None, "torch")}
    lc = HuggingFaceEmbeddings(model_name=str(default_model_path()), encode_kwargs={"batch_size": 32})
    for embedder in embedders.values():
        embedder.embed(["warm up"] * 4)
    lc.embed_documents(["warm up"] * 4)
    out: dict[str, Any] = {"load_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        # as LangChain's modules are imported and its model warmed above: the pipeline's lazy
        # imports (loaders, text splitters, FAISS) and first-use costs stay out of the timing
        warm = write_sources(rows[:2], members, Path(tmp) / "warm-src")
        ingest_or_fail([warm], Path(tmp) / "index-warm", embedders["onnx"])
        sources = write_sources(rows, members, Path(tmp) / "src")
        for name, embedder in embedders.items():
            with timer() as took:
                summary = ingest_or_fail([sources], Path(tmp) / f"index-{name}", embedder)
            out[f"townsquare_{name}_s"], out[f"townsquare_{name}_cpu"] = took["s"], took["cpu"]
        texts = [t for t, _ in chunk_units(Path(tmp) / "index-onnx")]
    with timer() as took:
        FAISS.from_texts(texts, lc)
    out["langchain_s"], out["langchain_cpu"] = took["s"], took["cpu"]
    for name, embedder in embedders.items():
        with timer() as took:
            embedder.embed(texts)
        out[f"raw_{name}_s"], out[f"raw_{name}_cpu"] = took["s"], took["cpu"]
    out.update(chunks=float(summary.chunks_embedded), texts=len(texts), documents=len(rows),
               characters=sum(len(t) for t in texts), load=os.getloadavg()[0])
    return out


def save_part(part: str, value: Any, command: str = "", write: bool = True, key: str = "") -> dict[str, Any]:
    """Store one part (``quality``, ``sizes``, ``ingest``, ``latency``; with ``key``, the entry
    ``key`` of that part, e.g. one dataset's quality) in ``results.json``, keeping what earlier
    runs measured, and rewrite the ``peers`` section from it."""

    path = ROOT / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with (ROOT / "results.lock").open("a") as lock:  # runs of different datasets may end together
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = _update(path, part, value, command, key)
        if write:
            write_section("peers", report(record))
    return record


def _update(path: Path, part: str, value: Any, command: str, key: str) -> dict[str, Any]:
    """Read ``results.json``, set the part, write it back; the record."""
    from datetime import UTC, datetime

    record: dict[str, Any] = {"quality": {}, "sizes": {}, "ingest": None, "latency": None, "meta": {}}
    if path.exists():
        record.update(json.loads(path.read_text()))
    if key:
        record[part] = {**(record[part] or {}), key: value}
    else:
        record[part] = value
    record.setdefault("meta", {})[f"{part}:{key}" if key else part] = {
        "run": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "command": command, "load": list(os.getloadavg())}
    path.write_text(json.dumps(record, indent=1))
    return record


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1], Path(argv[2]), int(argv[3]), int(argv[4]), Path(argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="quality datasets ('' for none)")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--sizes", default="", help="SemEval replication factors for latency/memory at k=100")
    parser.add_argument("--size-queries", type=int, default=100, help="queries per latency/memory size run")
    parser.add_argument("--ingest-docs", type=int, default=0, help="SemEval documents in the ingest race (0: skip)")
    parser.add_argument("--max-queries", type=int, default=0, help="queries per dataset (0: all)")
    parser.add_argument("--semeval-questions", type=int, default=0, help="SemEval questions pooled (0: all)")
    parser.add_argument("--size-systems", default="", help="systems of the size runs (default: --systems)")
    parser.add_argument("--reuse", action="store_true", help="reuse result files of an earlier run")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    data = data_dir(args.data)
    systems = args.systems.split(",")
    import torch

    torch.set_num_threads(1)  # stable on a shared machine (see bench/README.md)
    command = "python bench/peers.py " + " ".join(argv)
    sizes: dict[str, list[dict[str, Any]]] = {}
    size_systems = (args.size_systems or args.systems).split(",")
    for dataset in (d for d in args.datasets.split(",") if d):
        folder = prepare(data, dataset, args.max_queries, args.semeval_questions)
        qrels = json.loads((folder / "task.json").read_text())["qrels"]
        quality: dict[str, Any] = {}
        for system, result in run_children(systems, folder, reuse=args.reuse).items():
            if result is not None:
                quality[system] = {**result, **score(result, qrels), "run": None}
                if dataset == "semeval2015" and args.sizes and system in size_systems:  # x1 of the size plots
                    sizes.setdefault(system, []).append({k: v for k, v in result.items() if k != "run"})
                print(dataset, system, quality[system]["means"], flush=True)
        save_part("quality", quality, command, write=not args.no_write, key=dataset)
    for times in (int(x) for x in args.sizes.split(",") if x and x != "1"):
        folder = prepare(data, "semeval2015", args.max_queries, args.semeval_questions)
        for system in size_systems:
            result = run_child(system, folder, times, args.size_queries, reuse=args.reuse)
            if result is not None:
                sizes.setdefault(system, []).append({k: v for k, v in result.items() if k != "run"})
                print("size", times, system, result["units"], result["p50_ms"], result["peak_mb"], flush=True)
    if sizes:
        save_part("sizes", sizes, command, write=not args.no_write)
    if args.ingest_docs:
        race = ingest_race(data, args.ingest_docs)
        print("ingest", race, flush=True)
        save_part("ingest", race, command, write=not args.no_write)


def report(record: dict[str, Any]) -> str:
    """The ``peers`` section of docs/benchmarks.md."""
    from bench.common import section_header
    from bench.peers_report import report_text

    title = "Townsquare side by side with txtai, LangChain and bm25s (issue 11)"
    commands = "`; `".join(m["command"] for m in record.get("meta", {}).values() if m.get("command"))
    return report_text(record, section_header(title, commands))


if __name__ == "__main__":
    main()
