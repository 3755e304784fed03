"""The quantised vector kind (``hnsw-sq8``): chosen by size, exact scores from the float32
file, filters before the top k, save/load/add/remove. Small random data; the 1M figures are
in docs/benchmarks.md (scale-1m)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.backends.faiss_index import FaissVectors
from retrieval.backends.faiss_quantized import sidecars
from retrieval.backends.options import FaissOptions

pytestmark = pytest.mark.unit
Data = tuple[np.ndarray, np.ndarray]
OPTIONS = FaissOptions(hnsw_threshold=100, quantize_threshold=500)


def unit_rows(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return np.arange(2000, dtype=np.int64) * 7 + 11, unit_rows(2000)


@pytest.fixture(scope="module")
def quantized(data: tuple[np.ndarray, np.ndarray]) -> FaissVectors:
    ids, rows = data
    store = FaissVectors.empty(32, "flat", OPTIONS)
    store.add(ids, rows)
    return store.resized()


def test_the_kind_follows_the_size() -> None:
    store = FaissVectors.empty(8, "flat", OPTIONS)
    assert [store.kind_for_size(n) for n in (99, 100, 499, 500)] == ["flat", "hnsw", "hnsw", "hnsw-sq8"]


def test_a_search_returns_exact_cosines_best_first(quantized: FaissVectors, data: Data) -> None:
    ids, rows = data
    assert quantized.kind == "hnsw-sq8" and len(quantized) == 2000
    found, scores = quantized.search(rows[42], 5)
    assert found[0] == ids[42] and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(scores, rows[np.searchsorted(ids, found)] @ rows[42], atol=1e-6)
    assert list(scores) == sorted(scores, reverse=True)


@pytest.mark.parametrize("step", [2, 97])  # half the rows: the graph with a selector; 1%: a scan of the codes
def test_filters_apply_before_the_top_k(quantized: FaissVectors, data: Data, step: int) -> None:
    ids, rows = data
    allowed = ids[::step]
    query = unit_rows(1, seed=3)[0]
    found, _ = quantized.search(query, 10, quantized.prepare(allowed))
    assert len(found) == 10 and set(found) <= set(allowed)
    exact = allowed[np.argsort(-(rows[::step] @ query))[:10]]
    assert len(set(found) & set(exact)) >= 8


def test_nothing_allowed_finds_nothing(quantized: FaissVectors) -> None:
    found, _ = quantized.search(unit_rows(1)[0], 10, quantized.prepare(np.array([5], dtype=np.int64)))
    assert len(found) == 0


def test_saved_loaded_changed(quantized: FaissVectors, data: Data, tmp_path: Path) -> None:
    ids, rows = data
    quantized.save(tmp_path / "vectors.faiss")
    assert all(p.exists() for p in sidecars(tmp_path / "vectors.faiss"))
    loaded = FaissVectors.load(tmp_path / "vectors.faiss", OPTIONS)
    assert loaded.kind == "hnsw-sq8" and np.array_equal(loaded.reconstruct(ids[[3, 1999]]), rows[[3, 1999]])
    with pytest.raises(KeyError):
        loaded.reconstruct(np.array([12], dtype=np.int64))
    extra = unit_rows(1, seed=9)
    loaded.add(np.array([5], dtype=np.int64), extra)
    assert np.array_equal(loaded.reconstruct(np.array([5, ids[0]])), np.vstack([extra, rows[:1]]))
    loaded.remove(ids[:1600])
    assert len(loaded) == 401 and loaded.search(rows[1700], 1)[0][0] == ids[1700]
    shrunk = loaded.resized()  # 401 < quantize_threshold: back to float32 HNSW
    assert shrunk.kind == "hnsw" and np.array_equal(shrunk.reconstruct(np.array([5])), extra)
    loaded.close()


def test_a_few_removed_rows_become_tombstones_that_no_search_returns(data: Data, tmp_path: Path) -> None:
    ids, rows = data
    store = FaissVectors.empty(32, "flat", OPTIONS)
    store.add(ids, rows)
    quantized = store.resized()
    gone = ids[40:60]
    quantized.remove(gone)
    assert len(quantized) == 1980 and quantized.kind == "hnsw-sq8"
    assert not set(gone) & set(quantized.ids()) and len(quantized.ids()) == 1980
    with pytest.raises(KeyError):
        quantized.reconstruct(gone[:1])
    for row in (45, 50):  # the removed vector itself is the query: its own row must not come back
        assert not set(quantized.search(rows[row], 20)[0]) & set(gone)
        assert not set(quantized.search(rows[row], 20, quantized.prepare(ids[::2]))[0]) & set(gone)
    assert quantized.search(rows[61], 1)[0][0] == ids[61]
    quantized.save(tmp_path / "vectors.faiss")  # tombstones survive a save and a load
    loaded = FaissVectors.load(tmp_path / "vectors.faiss", OPTIONS)
    assert len(loaded) == 1980 and not set(loaded.search(rows[50], 20)[0]) & set(gone)
    loaded.remove(ids[:600])  # past a quarter of the rows: rebuilt from the live rows
    assert len(loaded) == 1400 and set(loaded.ids()) == set(ids[600:])
    assert np.array_equal(loaded.reconstruct(ids[[600, 1999]]), rows[[600, 1999]])
    loaded.close()
