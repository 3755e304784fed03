"""What the API server's request threads get: FAISS's thread cap and their own SQLite
connection to the served snapshot (found under load: docs/benchmarks.md, load)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval.backends.faiss_index import FaissVectors, limit_threads, thread_count
from retrieval.filters import Filters
from retrieval.index import IndexDir
from tests.contract.world import DOCUMENTS, HashingEmbedder, write

pytestmark = pytest.mark.unit


def in_thread(call: Callable[[], object]) -> object:
    """``call()`` run on a new thread; its result (or its exception, raised here)."""
    out: list[object] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            out.append(call())
        except Exception as e:  # re-raised on the calling thread
            failed.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]
    return out[0]


def test_the_faiss_thread_cap_reaches_threads_that_search() -> None:
    vectors = FaissVectors.empty(4)
    rows = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    vectors.add(np.arange(8, dtype=np.int64), rows / np.linalg.norm(rows, axis=1, keepdims=True))
    fresh_default = in_thread(thread_count)
    cap = fresh_default + 1  # differs from what a new thread would have anyway
    previous = thread_count()
    limit_threads(cap)
    try:
        def search_then_read() -> int:
            vectors.search(rows[0], 3)
            return thread_count()

        assert in_thread(search_then_read) == cap
    finally:
        limit_threads(previous)


def test_each_thread_reads_the_snapshot_through_its_own_connection(tmp_path: Path) -> None:
    index_dir = IndexDir(tmp_path / "ix")
    write(index_dir, DOCUMENTS)
    snapshot = index_dir.open(HashingEmbedder.model_id)
    catalog = snapshot.catalog
    mine = catalog.connection  # type: ignore[attr-defined]
    theirs = in_thread(lambda: catalog.connection)  # type: ignore[attr-defined]
    assert theirs is not mine and catalog.connection is mine  # type: ignore[attr-defined]
    words = DOCUMENTS[0].title.split()[0]
    here = snapshot.lexical.search(words, 5, Filters(), ())
    assert here and in_thread(lambda: snapshot.lexical.search(words, 5, Filters(), ())) == here
    snapshot.close()
    for connection in (mine, theirs):
        with pytest.raises(Exception, match="closed"):
            connection.cursor()  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="closed"):
        in_thread(lambda: catalog.connection.cursor())  # type: ignore[attr-defined]
