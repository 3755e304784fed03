"""The ONNX embedder against torch, in one run (issue 8, part 5): ``bench/ingest.py --embedder onnx``.

1. Throughput: the real pipeline's first ingest with the ONNX embedder (the cardano slice +
   ``corpus/sample`` of ``bench/ingest.py``) against raw torch ``model.encode`` (the torch
   embedder's ``embed``) of exactly the distinct chunk texts that ingest embedded, same batch
   size, rounds alternating which runs first; the fastest round of each counts. Raw ONNX
   ``embed`` of the same texts is timed too, for the pipeline's overhead.
2. Agreement: cosine of ONNX to torch vectors of every distinct StackFAQ chunk text (both
   levels, chunked by the real pipeline).
3. Quality: StackFAQ nDCG@10 at thread and answer level, dense and hybrid, with
   ``bench/quality.py``'s data, index and Searcher, once per embedder.

Vectors for 2 and 3 go through ``bench.common.CachedEmbedder`` (``var/bench-cache/<model_id>``);
step 1 uses no cache.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CachedEmbedder, ingest_or_fail, mean, section_header, table, timer, write_stackfaq

COSINE_TARGET, NDCG_TOLERANCE, SPEEDUP_TARGET = 0.98, 0.005, 1.3


def load_pair(onnx_threads: int) -> tuple[Any, Any]:
    """The torch and ONNX embedders of the packaged model, both warmed up."""
    from retrieval.embedders.onnx_runtime import OnnxEmbedder
    from retrieval.embedding import load_embedder

    torch_embedder, onnx_embedder = load_embedder(None, "torch"), OnnxEmbedder(threads=onnx_threads)
    for embedder in (torch_embedder, onnx_embedder):
        embedder.embed(["warm-up sentence for the embedding model"] * 8)
    return torch_embedder, onnx_embedder


def throughput_round(paths: list[Path], index: Path, pair: tuple[Any, Any], batch_size: int,
                     raw_first: bool, texts_of: Any) -> dict[str, float]:
    """One ONNX pipeline ingest into the fresh ``index`` and raw encodes of its distinct texts."""
    torch_embedder, onnx_embedder = pair
    out: dict[str, float] = {}

    def raw(texts: list[str]) -> None:
        for name, embedder in (("torch", torch_embedder), ("onnx", onnx_embedder)):
            with timer() as t:
                embedder.embed(texts, batch_size=batch_size)
            out.update({f"{name}_raw_s": t["s"], f"{name}_raw_cpu": t["cpu"]})

    if raw_first:
        raw(texts_of(None))
    with timer() as pipeline:
        summary = ingest_or_fail(paths, index, onnx_embedder, batch_size)
    if not raw_first:
        raw(texts_of(index))
    out.update(pipeline_s=pipeline["s"], pipeline_cpu=pipeline["cpu"], embedded=summary.chunks_embedded,
               chunks=summary.chunks_embedded + summary.chunks_reused, documents=summary.documents_new)
    return out


def faq_chunk_texts(data: Path, stub: Any) -> list[str]:
    """Every distinct StackFAQ chunk text of both levels, as the real pipeline chunks them."""
    from bench.ingest import distinct_chunk_texts

    texts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-onnx-faq-") as tmp:
        for level in ("thread", "answer"):
            source = write_stackfaq(data, level, Path(tmp) / f"src-{level}")
            ingest_or_fail([source], Path(tmp) / f"index-{level}", stub)
            texts += distinct_chunk_texts(Path(tmp) / f"index-{level}")[0]
    return list(dict.fromkeys(texts))


def agreement(texts: list[str], cached: dict[str, CachedEmbedder]) -> dict[str, float]:
    """Cosine of ONNX to torch vectors of ``texts``: mean, min and low percentiles."""
    cosines = np.einsum("ij,ij->i", cached["onnx"].embed(texts), cached["torch"].embed(texts))
    return {"n": len(texts), "mean": float(cosines.mean()), "min": float(cosines.min()),
            "p1": float(np.percentile(cosines, 1)), "p5": float(np.percentile(cosines, 5))}


def quality(data: Path, cached: dict[str, CachedEmbedder]) -> dict[str, dict[str, dict[str, float]]]:
    """``scores[embedder][level][mode]`` = mean nDCG@10 on StackFAQ, dense and hybrid (lexical
    does not depend on the embedder), with ``bench/quality.py``'s data, index and Searcher."""
    from bench.common import ndcg_at
    from bench.quality import LEVELS, faq_qrels, faq_queries, open_searcher

    queries = faq_queries(data)
    scores: dict[str, dict[str, dict[str, float]]] = {name: {} for name in cached}
    with tempfile.TemporaryDirectory(prefix="bench-onnx-ndcg-") as tmp:
        for level in LEVELS:
            qrels, source = faq_qrels(data, level), write_stackfaq(data, level, Path(tmp) / f"src-{level}")
            for name, embedder in cached.items():
                index = Path(tmp) / f"index-{level}-{name}"
                ingest_or_fail([source], index, embedder)
                embedder.embed([q.text for q in queries])  # in batches, before the per-query searches
                searcher = open_searcher(index, embedder)
                scores[name][level] = {mode: mean(ndcg_at([h.doc_id for h in searcher.search(q.text, k=10, mode=mode)],
                                                          qrels.get(q.id, {}), 10) for q in queries)
                                       for mode in ("dense", "hybrid")}
                searcher.snapshot.close()
                print(f"  {level} {name}: {scores[name][level]}", flush=True)
    return scores


def report(r: dict[str, Any], command: str) -> str:
    """The Markdown section ``ingest-onnx`` of ``docs/benchmarks.md``."""
    best = r["best"]
    speed_wall = best["torch_raw_s"] / best["pipeline_s"]
    speed_cpu = best["torch_raw_cpu"] / best["pipeline_cpu"]
    rows = [(label, f"{best[f'{key}_s']:.1f}", f"{best[f'{key}_cpu']:.1f}", f"{r['texts'] / best[f'{key}_s']:.1f}",
             f"{r['texts'] / best[f'{key}_cpu']:.1f}") for label, key in (
        ("ONNX embedder, first ingest (load, chunk, embed, write, commit)", "pipeline"),
        ("raw torch `model.encode` of the same distinct texts", "torch_raw"),
        ("raw ONNX `embed` of the same distinct texts", "onnx_raw"))]
    per_round = [(i + 1, "raw" if x["raw_first"] else "pipeline", f"{x['pipeline_s']:.1f}", f"{x['torch_raw_s']:.1f}",
                  f"{x['onnx_raw_s']:.1f}", f"{x['torch_raw_s'] / x['pipeline_s']:.2f}",
                  f"{x['torch_raw_cpu'] / x['pipeline_cpu']:.2f}") for i, x in enumerate(r["rounds"])]
    a, q = r["agreement"], r["quality"]
    ndcg_rows, worst = [], 0.0
    for level in ("thread", "answer"):
        for mode in ("dense", "hybrid"):
            t, o = q["torch"][level][mode], q["onnx"][level][mode]
            worst = max(worst, abs(o - t))
            ndcg_rows.append((level, mode, f"{t:.4f}", f"{o:.4f}", f"{o - t:+.4f}"))
    verdict = lambda ok: "meets target" if ok else "MISSES target"  # noqa: E731
    import onnxruntime

    return "\n".join([
        section_header("ONNX embedder against torch (issue 8)", command),
        f"ONNX Runtime {onnxruntime.__version__}; the export is `retrieval/embedders/onnx_export.py`'s (int8 "
        "weights per channel, dynamic activations). "
        f"Throughput corpus: the first {r.get('threads', '?')} cardano.stackexchange threads + `corpus/sample`, "
        f"built as in the ingest section ({r['documents']} documents, {r['chunks']} chunks, "
        f"{r['texts']} distinct chunk texts embedded); batch size {r['batch_size']}; no embedding cache; both "
        f"embedders loaded and warmed up before timing; torch threads {r['torch_threads'] or 'default'}, ONNX "
        f"Runtime threads {r['onnx_threads'] or 'default'}. Rounds alternate which runs first; the fastest round "
        "of each kind is reported. CPU seconds (all threads of the process) beside wall-clock seconds: the "
        "machine is shared, and CPU time is the steadier measure.\n",
        table(["run (fastest round)", "wall s", "CPU s", "chunks/s (wall)", "chunks/s (CPU)"], rows),
        "",
        f"- ingest with ONNX / raw torch encode = **{speed_wall:.2f}x** wall-clock, **{speed_cpu:.2f}x** CPU time "
        f"(target >= {SPEEDUP_TARGET}x: {verdict(min(speed_wall, speed_cpu) >= SPEEDUP_TARGET)})",
        f"- cosine ONNX to torch on {a['n']} distinct StackFAQ chunk texts (both levels): mean **{a['mean']:.4f}**, "
        f"min {a['min']:.4f}, 1st percentile {a['p1']:.4f}, 5th {a['p5']:.4f} "
        f"(target mean >= {COSINE_TARGET}: {verdict(a['mean'] >= COSINE_TARGET)})",
        f"- StackFAQ nDCG@10, largest |ONNX - torch| over levels and modes = **{worst:.4f}** "
        f"(target <= {NDCG_TOLERANCE}: {verdict(worst <= NDCG_TOLERANCE)})",
        "",
        table(["level", "mode", "nDCG@10 torch", "nDCG@10 ONNX", "ONNX - torch"], ndcg_rows),
        "",
        table(["round", "runs first", "ONNX ingest s", "torch raw s", "ONNX raw s", "speed-up wall", "speed-up CPU"],
              per_round),
    ])


def run(data: Path, n_threads: int, batch_size: int, rounds: int, onnx_threads: int) -> dict[str, Any]:
    """Throughput rounds, then cosine and nDCG; returns what :func:`report` prints."""
    from bench.ingest import StubEmbedder, build_corpus, distinct_chunk_texts

    pair = load_pair(onnx_threads)
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as tmp:
        paths, probe = build_corpus(data, Path(tmp) / "src", n_threads), Path(tmp) / "probe"
        ingest_or_fail(paths, probe, StubEmbedder(pair[1]), batch_size)
        texts = len(distinct_chunk_texts(probe)[0])
        for i in range(rounds):
            raw_first = i % 2 == 1
            results.append({**throughput_round(paths, Path(tmp) / f"index{i}", pair, batch_size, raw_first,
                                               lambda index: distinct_chunk_texts(index or probe)[0]),
                            "raw_first": raw_first})
            print(f"round {i + 1}: " + ", ".join(f"{k}={v:.2f}" for k, v in results[-1].items()), flush=True)
    keys = [f"{kind}_{unit}" for kind in ("pipeline", "torch_raw", "onnx_raw") for unit in ("s", "cpu")]
    cached = {"torch": CachedEmbedder(pair[0]), "onnx": CachedEmbedder(pair[1])}
    agree = agreement(faq_chunk_texts(data, StubEmbedder(pair[1])), cached)
    print(f"cosine ONNX to torch: {agree}", flush=True)
    return {**results[0], "rounds": results, "texts": texts, "batch_size": batch_size, "onnx_threads": onnx_threads,
            "best": {key: min(r[key] for r in results) for key in keys}, "agreement": agree,
            "quality": quality(data, cached)}
