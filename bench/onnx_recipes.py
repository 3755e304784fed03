"""What each step of the ONNX export and batching gives on this CPU (issue 11's ingest target).

On the chunk texts of the peers ingest race (the first ``--docs`` SemEval documents chunked
by the real pipeline; every ``--every``-th distinct text), one ONNX Runtime thread, batch 32:

1. variants of the export of all-MiniLM-L6-v2: fp32; ONNX Runtime's offline BERT fusion
   (``onnxruntime.transformers.optimizer``) or the plain traced graph; dynamic quantisation
   with uint8 or int8 weights, per channel or per tensor, MatMul only or MatMul + embeddings;
   batches cut from texts sorted by characters or by tokens;
2. per variant: CPU ms per chunk (the fastest of ``--rounds`` runs after a warm-up), padded
   positions the transformer ran, and cosine to sentence-transformers/torch fp32 vectors;
3. ONNX Runtime's own profile of recipe 2 and recipe 3: kernel ms per chunk by operator.

Variants are built once into ``var/bench-cache/onnx-recipes/``. Run it under the bench lock;
figures go to the ``onnx-recipes`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CACHE_DIR, CachedEmbedder, data_dir, section_header, table, write_section  # noqa: E402

FOLDER = CACHE_DIR / "onnx-recipes"
# name: (graph, weight type, per channel, ops quantised or None for all, batch order)
VARIANTS = {
    "recipe 2 (fused graph, uint8 weights, batches by characters)": ("fused", "u8", True, None, "chars"),
    "recipe 2, batches by tokens": ("fused", "u8", True, None, "tokens"),
    "fused graph, int8 weights, batches by tokens": ("fused", "s8", True, None, "tokens"),
    "plain graph, uint8 weights, MatMul only, batches by tokens": ("plain", "u8", True, ["MatMul"], "tokens"),
    "recipe 3 (plain graph, int8 weights, MatMul only, batches by tokens)": ("plain", "s8", True, ["MatMul"], "tokens"),
    "plain graph, int8 weights, MatMul + embeddings": ("plain", "s8", True, None, "tokens"),
    "plain graph, int8 weights one scale per tensor": ("plain", "s8", False, ["MatMul"], "tokens"),
    "fp32 plain graph (no quantisation), batches by tokens": ("plain", "fp32", True, None, "tokens"),
}
PROFILED = ("recipe 2 (fused graph, uint8 weights, batches by characters)",
            "recipe 3 (plain graph, int8 weights, MatMul only, batches by tokens)")


def race_texts(docs: int) -> list[str]:
    """Distinct chunk texts of the first ``docs`` SemEval documents, as ``bench/peers.py``'s
    ingest race makes them (the real pipeline, here with the product's ONNX embedder)."""
    from app.evaluate import AUTHOR, collection_threads, write_sources
    from bench.common import ingest_or_fail
    from bench.peers import chunk_units
    from retrieval.embedders.onnx_runtime import OnnxEmbedder
    from retrieval.evaluation import read_collection

    rows = collection_threads(read_collection(data_dir(None) / "semeval2015-qatarliving"))[:docs]
    members = [{"id": AUTHOR, "name": "Qatar Living", "handles": {}, "opt_out": False}]
    with tempfile.TemporaryDirectory() as tmp:
        sources = write_sources(rows, members, Path(tmp) / "src")
        ingest_or_fail([sources], Path(tmp) / "index", CachedEmbedder(OnnxEmbedder(threads=1)))
        return sorted({text for text, _ in chunk_units(Path(tmp) / "index")})


def build(spec: tuple[Any, ...]) -> Path:
    """The model file of one variant (built on first use)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    from retrieval.embedders.onnx_export import _torch_export
    from retrieval.embedding import default_model_path

    graph, weights, per_channel, ops, _ = spec
    FOLDER.mkdir(parents=True, exist_ok=True)
    plain, fused = FOLDER / "plain.onnx", FOLDER / "fused.onnx"
    if not plain.exists():
        _torch_export(default_model_path(), plain)
    if not fused.exists():
        config = json.loads((default_model_path() / "config.json").read_text())
        optimize_model(str(plain), model_type="bert", num_heads=config["num_attention_heads"],
                       hidden_size=config["hidden_size"]).save_model_to_file(str(fused))
    source = plain if graph == "plain" else fused
    if weights == "fp32":
        return source
    target = FOLDER / f"{graph}-{weights}-{'pc' if per_channel else 'pt'}-{'-'.join(ops or ['all'])}.onnx"
    if not target.exists():
        quantize_dynamic(source, target, weight_type=QuantType.QInt8 if weights == "s8" else QuantType.QUInt8,
                         per_channel=per_channel, op_types_to_quantize=ops,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # types the fused ops omit
    return target


def session(path: Path, profile: bool = False) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.log_severity_level, options.enable_profiling = 1, 3, profile
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def encode(model: Any, tokenizer: Any, texts: list[str], order_by: str) -> tuple[np.ndarray, int]:
    """Unit vectors of ``texts`` (input order) in batches of 32; the padded positions run."""
    from retrieval.embedders.onnx_runtime import mean_pool_normalise, pad_batch

    encodings = tokenizer.encode_batch([t.strip() for t in texts])
    size = (lambda i: len(texts[i])) if order_by == "chars" else (lambda i: len(encodings[i].ids))
    order = sorted(range(len(texts)), key=lambda i: -size(i))
    out, positions = np.zeros((len(texts), 384), dtype=np.float32), 0
    inputs = {i.name for i in model.get_inputs()}
    for start in range(0, len(order), 32):
        rows = order[start : start + 32]
        feeds = pad_batch([encodings[i] for i in rows], 0)
        positions += feeds["input_ids"].size
        hidden = model.run(None, {k: v for k, v in feeds.items() if k in inputs})[0]
        out[rows] = mean_pool_normalise(hidden, feeds["attention_mask"])
    return out, positions


def measure(texts: list[str], reference: np.ndarray, rounds: int) -> list[dict[str, Any]]:
    """One row per variant: CPU ms per chunk (best round), padded positions, cosine to torch."""
    tokenizer = _tokenizer()
    rows = []
    for name, spec in VARIANTS.items():
        model = session(build(spec))
        encode(model, tokenizer, texts[:64], spec[4])
        best = float("inf")
        for _ in range(rounds):
            start = time.process_time()
            vectors, positions = encode(model, tokenizer, texts, spec[4])
            best = min(best, time.process_time() - start)
        cosines = np.einsum("ij,ij->i", vectors, reference)
        rows.append({"variant": name, "ms": 1000 * best / len(texts), "positions": positions,
                     "mean": float(cosines.mean()), "p1": float(np.percentile(cosines, 1)),
                     "min": float(cosines.min())})
        print(rows[-1], flush=True)
    return rows


def profile(texts: list[str], name: str) -> dict[str, float]:
    """Kernel ms per chunk by ONNX Runtime operator, from its profiler, for one variant."""
    spec = VARIANTS[name]
    model = session(build(spec), profile=True)
    encode(model, _tokenizer(), texts, spec[4])
    trace = Path(model.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    by_op: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"]
    return {op: us / 1000 / len(texts) for op, us in by_op.most_common()}


def _tokenizer() -> Any:
    from tokenizers import Tokenizer

    from retrieval.embedding import default_model_path

    tokenizer = Tokenizer.from_file(str(default_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.no_padding()
    return tokenizer


def report(texts: list[str], tokens: int, rows: list[dict[str, Any]], profiles: dict[str, dict[str, float]],
           command: str) -> str:
    """The Markdown section ``onnx-recipes``."""
    import onnxruntime

    base = rows[0]["ms"]
    lines = [section_header("ONNX export and batching, step by step (issue 11)", command),
             f"ONNX Runtime {onnxruntime.__version__}, one intra-op thread, batch 32, on this AVX2 CPU without "
             f"VNNI. Texts: {len(texts)} distinct chunk texts of the peers ingest race (SemEval), {tokens:,} tokens. "
             "CPU ms per chunk: the fastest round after a warm-up. Cosine: to sentence-transformers/torch fp32.", "",
             table(["variant", "CPU ms/chunk", "x recipe 2", "positions run", "cosine mean", "p1", "min"],
                   [(r["variant"], f"{r['ms']:.2f}", f"{base / r['ms']:.2f}", f"{r['positions']:,}", f"{r['mean']:.4f}",
                     f"{r['p1']:.4f}", f"{r['min']:.4f}") for r in rows]), "",
             "Where the time goes (ONNX Runtime profiler, kernel ms per chunk by operator; the profiler's own "
             "overhead inflates these, most for the plain graph's many small operators: read them as shares, and "
             "the table above for totals):", ""]
    for name, ops in profiles.items():
        total = sum(ops.values())
        lines += [f"- {name}: {total:.2f} ms — " + ", ".join(
            f"{op} {ms:.2f} ({100 * ms / total:.0f}%)" for op, ms in list(ops.items())[:8])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000, help="SemEval documents (as the ingest race)")
    parser.add_argument("--every", type=int, default=2, help="time every n-th distinct text")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    from retrieval.embedding import load_embedder

    warnings.simplefilter("ignore")
    texts = race_texts(args.docs)[:: args.every]
    reference = CachedEmbedder(load_embedder(None, "torch")).embed(texts)
    tokens = sum(len(e.ids) for e in _tokenizer().encode_batch([t.strip() for t in texts]))
    rows = measure(texts, reference, args.rounds)
    profiles = {name: profile(texts, name) for name in PROFILED}
    command = "python bench/onnx_recipes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(texts, tokens, rows, profiles, command)
    print(text)
    if not args.no_write:
        write_section("onnx-recipes", text)


if __name__ == "__main__":
    main()
