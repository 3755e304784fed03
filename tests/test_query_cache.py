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
