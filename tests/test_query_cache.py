"""The query-embedding cache returns the model's own vectors, copies that callers may change."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.query_cache import QueryCachedEmbedder

pytestmark = pytest.mark.integration


def test_cached_vectors_are_the_models_and_safe_to_modify(embedder) -> None:  # type: ignore[no-untyped-def]
    cached = QueryCachedEmbedder(embedder, size=2)
    first = cached.embed(["when to add a super"])
    first[0, :] = 0.0  # a caller scribbling on its copy must not poison the cache
    again = cached.embed(["when to add a super"])
    assert np.allclose(again, embedder.embed(["when to add a super"]), atol=1e-6)
    cached.embed(["a"]), cached.embed(["b"])  # evicts the first question
    assert len(cached._vectors) == 2 and "when to add a super" not in cached._vectors
    batch = cached.embed(["x", "y"])
    assert batch.shape == (2, embedder.dimension) and cached.model_id == embedder.model_id


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.texts = inner, 0
        self.model_id, self.model_name = inner.model_id, inner.model_name
        self.dimension, self.max_tokens = inner.dimension, inner.max_tokens

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts, batch_size=batch_size)

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))


def test_clear_makes_the_model_embed_again(embedder) -> None:  # type: ignore[no-untyped-def]
    counting = Counting(embedder)
    cached = QueryCachedEmbedder(counting)
    first = cached.embed(["how many frames in a brood box"])
    cached.embed(["how many frames in a brood box"])
    assert counting.texts == 1
    cached.clear()
    again = cached.embed(["how many frames in a brood box"])
    assert counting.texts == 2 and np.allclose(again, first, atol=1e-6)
