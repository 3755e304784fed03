"""Export a sentence-transformers (BERT-family) model to ONNX once, quantised, and cache it.

The export is made from the model's own local weights (never downloaded), in two steps:

1. torch's ONNX exporter traces the transformer with its plain ("eager") attention
   (``last_hidden_state`` out; pooling stays in the embedder);
2. dynamic quantisation turns the weights of every MatMul into signed int8, one scale per
   output channel; activations are quantised (uint8) per batch at run time; the embedding
   tables stay float32. ONNX Runtime fuses the rest (quantise + MatMul, LayerNorm, Gelu) when
   the session loads.

Why this recipe (issue 11, measured on this AVX2 CPU without VNNI, one thread, SemEval chunks
of ~57 tokens; ``bench/onnx_recipes.py``): signed int8 weights run ONNX Runtime's u8s8
integer GEMM, which is about 1.35x faster here than the u8u8 kernel that uint8 weights get; and
ONNX Runtime's offline BERT fusion (fused Attention / SkipLayerNorm / BiasGelu, recipe 2) is
15-20% *slower* on one thread than the session's own fusions of the plain graph, on short and
on 100-token texts alike (equal on two threads). With batches cut by token count
(:meth:`OnnxEmbedder.embed`) the encode is 1.9x recipe 2's as it was run (13.6 vs 26.4 CPU ms
per chunk); the int8 GEMMs are then about two thirds of the time. Cosine to torch stays at about 0.99 mean
(0.992 on 986 SemEval chunks, 0.994 on 1,249 StackFAQ questions, as recipe 2); quantising the
embedding tables too made short texts agree a little less (question minimum 0.953 vs 0.961),
and one scale per tensor instead of per channel drops the mean to about 0.95.

Where the file lives (:func:`cache_dir`):

- ``<model_dir>/onnx/model_qint8.v3.onnx``, beside the weights, when that folder is writable
  (the usual case: the packaged model inside the project's virtualenv);
- else ``$XDG_CACHE_HOME/townsquare/onnx/<weights fingerprint>/model_qint8.v3.onnx``
  (``~/.cache`` when ``XDG_CACHE_HOME`` is unset), for a read-only site-packages.

Concurrency: exporters take an exclusive ``fcntl`` lock on ``<file>.lock`` and re-check, so
the export happens once; it is written into a temporary folder beside the target and moved
into place with ``os.replace``, so a reader sees no file or the whole file, and a killed
export leaves only a stray temporary folder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retrieval.embedders.sentence_transformer import fingerprint
from retrieval.errors import ConfigError

log = logging.getLogger(__name__)

RECIPE = 3
"""Version of the export recipe new indexes get; a change gives a new file name, so no stale
export is reused."""
FILES = {2: "model_quint8.v2.onnx", 3: "model_qint8.v3.onnx"}
"""Every recipe an index may have been built with -> its file. Recipe 2 (the default until
2026-12-01: ONNX Runtime's offline BERT fusion, then uint8 weights per channel) stays
exportable so an index it built keeps answering queries with the vectors it was built with
(:func:`retrieval.embedding.embedder_for_index`)."""
ONNX_FILE = FILES[RECIPE]
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_model_path(model_dir: Path, recipe: int = RECIPE) -> Path:
    """The quantised ONNX export of the model in ``model_dir`` made by ``recipe`` (a key of
    :data:`FILES`), exported on the first call.

    Raises:
        ConfigError: the export failed (the message says why); nothing is left in its place.
    """
    target = cache_dir(model_dir) / FILES[recipe]
    if target.exists():
        return target
    with _locked(target.with_suffix(".lock")):
        if not target.exists():
            log.warning("exporting %s to ONNX (once; cached at %s)", model_dir, target)
            try:
                _export(model_dir, target, recipe)
            except Exception as e:  # the exporters raise many kinds; all mean "no usable export"
                raise ConfigError(f"{model_dir}: ONNX export failed ({type(e).__name__}: {e})") from e
    return target


def cache_dir(model_dir: Path) -> Path:
    """The folder that holds (or will hold) the export: beside the weights when writable,
    else a per-user cache keyed by the weights' fingerprint."""
    beside = model_dir / "onnx"
    if _writable(beside):
        return beside
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "townsquare" / "onnx" / fingerprint(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export(model_dir: Path, target: Path, recipe: int) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' advice is for other models; the tests check ours
        fp32, quantised = Path(tmp) / "fp32.onnx", Path(tmp) / target.name
        _torch_export(model_dir, fp32)
        if recipe == 2:
            _recipe_2(model_dir, fp32, quantised)
        else:
            quantize_dynamic(fp32, quantised, weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
        os.replace(quantised, target)


def _recipe_2(model_dir: Path, fp32: Path, out: Path) -> None:
    """Recipe 2, kept for the indexes it built: ONNX Runtime's BERT graph optimiser fuses the
    traced attention, embedding and skip-LayerNorm patterns, then every weight becomes uint8,
    one scale per output channel."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_dir / "config.json").read_text())
    fused = fp32.with_name("fused.onnx")
    optimize_model(str(fp32), model_type="bert", num_heads=int(config["num_attention_heads"]),
                   hidden_size=int(config["hidden_size"])).save_model_to_file(str(fused))
    quantize_dynamic(fused, out, weight_type=QuantType.QUInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # types the fused ops omit


def _torch_export(model_dir: Path, out: Path) -> None:
    """Trace the model's transformer to ``out`` (fp32), batch and sequence axes dynamic."""
    import torch
    from transformers import AutoModel

    class Transformer(torch.nn.Module):
        """The model with plain tensor inputs and the last hidden state as its one output."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = AutoModel.from_pretrained(
                str(model_dir), local_files_only=True, attn_implementation="eager").eval()

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(
            Transformer(), example, str(out), input_names=list(INPUTS), output_names=["last_hidden_state"],
            dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )
