"""The ``onnx`` embedder: ONNX Runtime on the int8 export of a sentence-transformers model.

It reproduces what sentence-transformers does for all-MiniLM-L6-v2: the model's own
``tokenizer.json`` (stripped text, ``[CLS] ... [SEP]``, truncated to the model's
``max_seq_length``), the transformer, mean pooling over real tokens, L2 normalisation. Only
the transformer's arithmetic differs (int8 weights), so vectors are close to torch's but not
equal: the ``model_id`` covers the ONNX file and the tokenizer, and an index built by one
runtime refuses the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.embedders.onnx_export import RECIPE, onnx_model_path
from retrieval.embedders.sentence_transformer import check_model_dir, default_model_path, model_name_of
from retrieval.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 256


class OnnxEmbedder:
    """:class:`retrieval.embedding.Embedder` running the quantised export with ONNX Runtime.

    Args:
        model_dir: a sentence-transformers model folder (default: the packaged model).
        threads: ONNX Runtime intra-op threads (0: its own choice, one per physical core).
        recipe: the export recipe (:data:`~retrieval.embedders.onnx_export.FILES`); an older one
            only for an index it built.
    """

    name = "onnx"

    def __init__(self, model_dir: Path | None = None, threads: int = 0, recipe: int = RECIPE) -> None:
        model_dir = Path(model_dir) if model_dir else default_model_path()
        check_model_dir(model_dir)
        self.recipe = recipe
        onnx_bytes = onnx_model_path(model_dir, recipe).read_bytes()
        tokenizer_file = model_dir / "tokenizer.json"
        if not tokenizer_file.exists():
            raise ConfigError(f"{model_dir}: no tokenizer.json (the onnx embedder needs a fast tokenizer)")
        self.max_tokens = max_seq_length(model_dir)
        self._counter, self._truncator, self._pad_id = _tokenizers(tokenizer_file, self.max_tokens)
        self._session = _session(onnx_bytes, threads)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.model_name = model_name_of(model_dir)
        self.model_id = "onnx-" + _digest(onnx_bytes, tokenizer_file.read_bytes())
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        log.info("loaded model %s (%s) from %s with ONNX Runtime", self.model_name, self.model_id, model_dir)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """See :class:`retrieval.embedding.Embedder`. Every text is tokenized once; batches of
        ``batch_size`` are cut from the texts ordered by token count, longest first, so a batch
        pads little (character length is a poor proxy: on forum text it left 60% of the
        transformer's positions as padding); rows come back in the input order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self._truncator.encode_batch([text.strip() for text in texts])
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._embed_batch([encodings[i] for i in rows])
        return out

    def count_tokens(self, text: str) -> int:
        """See :class:`retrieval.embedding.Embedder` (no truncation, as the torch embedder)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def _embed_batch(self, encodings: list[Any]) -> np.ndarray:
        feeds = pad_batch(encodings, self._pad_id)
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        return mean_pool_normalise(hidden, feeds["attention_mask"])


def pad_batch(encodings: list[Any], pad_id: int) -> dict[str, np.ndarray]:
    """The model inputs of a batch of unpadded ``tokenizers`` encodings: ``input_ids``,
    ``attention_mask`` and ``token_type_ids``, int64 (batch, longest), padded on the right
    with ``pad_id`` / 0 / 0 as the tokenizer's own padding would."""
    width = max((len(e.ids) for e in encodings), default=0)
    feeds = {"input_ids": np.full((len(encodings), width), pad_id, dtype=np.int64),
             "attention_mask": np.zeros((len(encodings), width), dtype=np.int64),
             "token_type_ids": np.zeros((len(encodings), width), dtype=np.int64)}
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        feeds["input_ids"][row, :n] = encoding.ids
        feeds["attention_mask"][row, :n] = encoding.attention_mask
        feeds["token_type_ids"][row, :n] = encoding.type_ids
    return feeds


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``hidden`` (batch, tokens, dim) over the tokens where ``mask`` (batch, tokens)
    is 1, then each row scaled to unit length; float32 (batch, dim)."""
    weights = mask.astype(np.float32)
    # one (1, tokens) x (tokens, dim) product per row: a BLAS call, not a masked copy of ``hidden``
    summed = np.matmul(weights[:, None, :], hidden.astype(np.float32, copy=False))[:, 0, :]
    pooled = summed / np.clip(weights.sum(axis=1, keepdims=True), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def max_seq_length(model_dir: Path) -> int:
    """The model's ``max_seq_length`` from ``sentence_bert_config.json`` (256 when absent)."""
    config = model_dir / "sentence_bert_config.json"
    if not config.exists():
        return DEFAULT_MAX_TOKENS
    return int(json.loads(config.read_text()).get("max_seq_length", DEFAULT_MAX_TOKENS))


def _tokenizers(tokenizer_file: Path, max_tokens: int) -> tuple[Any, Any, int]:
    """A plain tokenizer (for counting), one that truncates to ``max_tokens`` (for embedding;
    :func:`pad_batch` pads the batches), and the id of the pad token the file names
    (``[PAD]`` when it names none)."""
    from tokenizers import Tokenizer

    counter = Tokenizer.from_file(str(tokenizer_file))
    counter.no_truncation()
    counter.no_padding()
    truncator = Tokenizer.from_file(str(tokenizer_file))
    pad_token = (truncator.padding or {}).get("pad_token", "[PAD]")
    pad_id = int(truncator.token_to_id(pad_token) or 0)
    truncator.enable_truncation(max_length=max_tokens)
    truncator.no_padding()
    return counter, truncator, pad_id


def _session(onnx_bytes: bytes, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]
