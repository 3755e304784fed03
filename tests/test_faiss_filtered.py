"""Filtered search on the flat FAISS index returns exactly the brute-force top k of the
allowed ids, whichever path it takes (unfiltered-then-dropped, bitmap or hash-set selector)."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.backends.faiss_index import FaissVectors
from retrieval.backends.options import FaissOptions

pytestmark = pytest.mark.unit


def store_of(ids: np.ndarray, d: int = 16) -> tuple[FaissVectors, np.ndarray]:
    rows = np.random.default_rng(1).normal(size=(len(ids), d)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    store = FaissVectors.empty(d, "flat", FaissOptions())
    store.add(ids, rows)
    return store, rows


@pytest.mark.parametrize("share", [1.0, 0.97, 0.6, 0.1, 0.002])
@pytest.mark.parametrize("sparse", [False, True])
def test_filtered_flat_search_is_the_exact_top_k_of_the_allowed(share: float, sparse: bool) -> None:
    ids = np.arange(3000, dtype=np.int64) * (1 << 40 if sparse else 1) + 5
    store, rows = store_of(ids)
    rng = np.random.default_rng(2)
    allowed = np.sort(rng.choice(ids, size=max(1, int(share * len(ids))), replace=False))
    prepared = store.prepare(allowed)
    for query in rows[:20] + 0.01:
        for k in (1, 10, 100):
            got, scores = store.search(query, k, prepared)
            mask = np.isin(ids, allowed)
            exact = ids[mask][np.argsort(-(rows[mask] @ query), kind="stable")][:k]
            assert len(got) == min(k, len(allowed))
            assert set(got.tolist()) == set(exact.tolist()), (share, k)
            assert np.all(np.diff(scores) <= 1e-6)
            assert np.isin(got, allowed).all()
