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
    allowed = rng.choice(ids, size=max(1, int(share * len(ids))), replace=False)  # unsorted, as a catalog may give
    prepared = store.prepare(np.concatenate([allowed, allowed[:3]]))  # and a repeated id
    for query in rows[:20] + 0.01:
        for k in (1, 10, 100):
            got, scores = store.search(query, k, prepared)
            mask = np.isin(ids, allowed)
            exact = ids[mask][np.argsort(-(rows[mask] @ query), kind="stable")][:k]
            assert len(got) == min(k, len(allowed))
            assert set(got.tolist()) == set(exact.tolist()), (share, k)
            assert np.all(np.diff(scores) <= 1e-6)
            assert np.isin(got, allowed).all()


def test_flat_vectors_read_back_after_adds_and_removes() -> None:
    """Stored vectors are read from the index's own rows (found by bisection in the sorted
    ids), and that lookup must follow every change of the index."""
    ids = np.array([900, 7, 1 << 50, 42], dtype=np.int64)
    store, rows = store_of(ids)
    assert np.array_equal(store.reconstruct(np.array([42, 900, 1 << 50])), rows[[3, 0, 2]])
    store.remove(np.array([7]))
    assert np.array_equal(store.reconstruct(np.array([42, 900])), rows[[3, 0]])
    with pytest.raises(KeyError):
        store.reconstruct(np.array([7]))
    extra = np.ones((1, rows.shape[1]), dtype=np.float32) / np.sqrt(rows.shape[1])
    store.add(np.array([5], dtype=np.int64), extra)
    assert np.array_equal(store.reconstruct(np.array([5, 1 << 50])), np.vstack([extra, rows[2:3]]))
    with pytest.raises(KeyError):
        store.reconstruct(np.array([6]))
