"""An :class:`~retrieval.embedding.Embedder` that remembers the vectors of recent single
texts (questions), so a question asked again — or embedded twice in one request, by the
search and by the knowledge-gap log — costs the model nothing."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from retrieval.embedding import Embedder


class QueryCachedEmbedder:
    """Wraps ``inner``; ``embed`` of exactly one text goes through an LRU of ``size`` entries
    (batches, as ingest sends them, pass straight through). Thread-safe."""

    def __init__(self, inner: Embedder, size: int = 2048) -> None:
        self.inner = inner
        self.model_id, self.model_name = inner.model_id, inner.model_name
        self.dimension, self.max_tokens = inner.dimension, inner.max_tokens
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """See :class:`~retrieval.embedding.Embedder`; the returned array is a copy."""
        if len(texts) != 1:
            return self.inner.embed(texts, batch_size=batch_size)
        text = texts[0]
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                return vector[None, :].copy()
        vector = self.inner.embed([text], batch_size=batch_size)[0]
        with self._lock:
            self._vectors[text] = vector
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vector[None, :].copy()

    def clear(self) -> None:
        """Forget every remembered vector: the next ``embed`` of any text runs the model
        (a benchmark timing the model's part of a request)."""
        with self._lock:
            self._vectors.clear()

    def count_tokens(self, text: str) -> int:
        """See :class:`~retrieval.embedding.Embedder`."""
        return self.inner.count_tokens(text)
