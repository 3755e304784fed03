"""Dense vectors keyed by chunk id in one FAISS ``IndexIDMap2`` over a flat or HNSW
inner-product index (vectors are L2-normalised, so inner product is cosine similarity).

The kind is chosen by size (exact search below ``FaissOptions.hnsw_threshold`` vectors; the
quantised kind of ``faiss_quantized.py`` from ``quantize_threshold`` on) and recorded in the
manifest.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from retrieval.backends.options import FaissOptions

QUANTIZED = "hnsw-sq8"


BITMAP_MIN_IDS = 1 << 20
BITMAP_IDS_PER_VECTOR = 16
"""A bitmap selector is used while the largest allowed id is below
``max(BITMAP_MIN_IDS, BITMAP_IDS_PER_VECTOR * vectors held)`` (at most 2 bytes per vector
beyond 128 KiB); chunk ids are SQLite rowids, so normally dense."""


UNFILTERED_SHARE = 0.5
"""Share of a flat index's ids a filter must allow for :meth:`FaissVectors.search` to search
unfiltered and drop the rest (below it the selector's scan is the cheaper path)."""


@dataclass(frozen=True)
class AllowedIds:
    """Allowed chunk ids prepared once per (filters, groups) for :meth:`FaissVectors.search`:
    a FAISS bitmap selector over chunk ids (bit ``i`` set = id ``i`` allowed), so a search
    neither rebuilds a hash set of every allowed id nor hashes each candidate (ids too sparse
    for a bitmap get FAISS's hash-set selector, still built only once, and ``bitmap`` None).
    ``bitmap`` (uint8, ``max id // 8 + 1`` bytes) is kept here because the selector points
    into it."""

    ids: np.ndarray
    """The allowed ids, sorted and unique."""
    bitmap: np.ndarray | None
    selector: Any

    def __len__(self) -> int:
        return len(self.ids)

    def admits(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` are allowed (bool array of the same length)."""
        if self.bitmap is None:  # a hash-set selector: sparse ids, looked up by bisection
            # (np.isin sorted all ~100k allowed ids on every search: ~10 ms at 100k chunks)
            if not len(self.ids):
                return np.zeros(len(ids), dtype=bool)
            at = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
            return np.asarray(self.ids[at] == ids)
        inside = (ids >= 0) & (ids < len(self.bitmap) * 8)
        bits = np.zeros(len(ids), dtype=bool)
        held = ids[inside]
        bits[inside] = (self.bitmap[held >> 3] >> (held & 7)) & 1 == 1
        return bits


class FaissVectors:
    """A FAISS index of (chunk id, vector) pairs; the FAISS calls of the ``faiss`` backend."""

    def __init__(self, index: faiss.Index, kind: str, options: FaissOptions) -> None:
        self._index = index
        self.kind = kind
        self.options = options
        self._rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """Flat kind: (sorted ids, their row numbers, the stored vectors as a read-only
        view), made on first :meth:`reconstruct` and dropped on any change."""

    @classmethod
    def empty(cls, dimension: int, kind: str = "flat", options: FaissOptions | None = None) -> FaissVectors:
        """A new empty index of ``kind`` ("flat", "hnsw" or "hnsw-sq8")."""
        options = options or FaissOptions()
        inner: Any
        if kind == QUANTIZED:
            from retrieval.backends.faiss_quantized import QuantizedVectors

            return QuantizedVectors.new(dimension, options)
        if kind == "flat":
            inner = faiss.IndexFlatIP(dimension)
        elif kind == "hnsw":
            inner = faiss.IndexHNSWFlat(dimension, options.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = options.ef_construction
            inner.hnsw.efSearch = options.ef_search
        else:
            raise ValueError(f"unknown vector index kind {kind!r}; known: flat, hnsw, {QUANTIZED}")
        return cls(faiss.IndexIDMap2(inner), kind, options)

    @classmethod
    def load(cls, path: Path, options: FaissOptions | None = None) -> FaissVectors:
        """Read an index written by :meth:`save`; its kind is read from the file (the
        quantised kind: from its id file beside it)."""
        from retrieval.backends.faiss_quantized import QuantizedVectors, sidecars

        if sidecars(path)[0].exists():
            return QuantizedVectors.open(path, options or FaissOptions())
        index = faiss.read_index(str(path))
        inner = faiss.downcast_index(index.index)  # type: ignore[attr-defined]
        return cls(index, "hnsw" if isinstance(inner, faiss.IndexHNSW) else "flat", options or FaissOptions())

    @property
    def dimension(self) -> int:
        """Vector width."""
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n, d) under int64 ``ids`` (n,); ids must be new."""
        if len(ids):
            self._rows = None
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: np.ndarray) -> None:
        """Drop the vectors of ``ids`` (unknown ids are ignored). HNSW cannot delete in
        place, so it is rebuilt."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids) or not len(self):
            return
        self._rows = None
        if self.kind == "flat":
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            return
        keep = np.setdiff1d(self.ids(), ids)
        rebuilt = FaissVectors.empty(self.dimension, self.kind, self.options)
        rebuilt.add(keep, self.reconstruct(keep))
        self._index = rebuilt._index

    def kind_for_size(self, n_vectors: int) -> str:
        """Exact search while it is fast enough; HNSW above the threshold; quantised HNSW
        from ``quantize_threshold`` on."""
        if n_vectors >= self.options.quantize_threshold:
            return QUANTIZED
        return "flat" if n_vectors < self.options.hnsw_threshold else "hnsw"

    def resized(self) -> FaissVectors:
        """This index, rebuilt as the kind that fits its current size if it is not already."""
        kind = self.kind_for_size(len(self))
        if kind == self.kind:
            return self
        ids = self.ids()
        rebuilt = FaissVectors.empty(self.dimension, kind, self.options)
        rebuilt.add(ids, self.reconstruct(ids))
        return rebuilt

    def prepare(self, allowed: np.ndarray) -> Any:
        """``allowed`` chunk ids in the form :meth:`search` takes fastest (kept per filter by
        the caller): an :class:`AllowedIds` bitmap selector."""
        ids = np.unique(np.asarray(allowed, dtype=np.int64))  # sorted, as AllowedIds.admits needs
        top = int(ids.max()) if len(ids) else 0
        if top >= max(BITMAP_MIN_IDS, BITMAP_IDS_PER_VECTOR * len(self)) or (len(ids) and int(ids.min()) < 0):
            # sparse or odd ids: a bitmap would be too large; a hash set, built once
            return AllowedIds(ids, None, faiss.IDSelectorBatch(ids))
        mask = np.zeros(top + 1, dtype=bool)
        mask[ids] = True
        bitmap = np.packbits(mask, bitorder="little")
        return AllowedIds(ids, bitmap, faiss.IDSelectorBitmap(bitmap))  # type: ignore[call-arg,arg-type]

    def close(self) -> None:
        """Nothing to release but memory."""

    def ids(self) -> np.ndarray:
        """All ids held."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)  # type: ignore[attr-defined]

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` (n, d); an unknown id raises KeyError."""
        if self.kind == "flat" and len(ids) and len(self):
            return self._flat_rows(np.asarray(ids, dtype=np.int64))
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for row, chunk_id in enumerate(np.asarray(ids, dtype=np.int64)):
            try:
                out[row] = self._index.reconstruct(int(chunk_id))
            except RuntimeError as e:  # FAISS: "key not found"
                raise KeyError(int(chunk_id)) from e
        return out

    def _flat_rows(self, ids: np.ndarray) -> np.ndarray:
        """:meth:`reconstruct` of a flat index: rows of its stored vectors, found by bisection
        in the sorted ids (one FAISS call per id cost ~10 us, a millisecond per search page)."""
        if self._rows is None:
            held = self.ids()
            order = np.argsort(held, kind="stable")
            inner = faiss.downcast_index(self._index.index)  # type: ignore[attr-defined]
            stored = faiss.rev_swig_ptr(inner.get_xb(), len(self) * self.dimension)  # type: ignore[attr-defined]
            stored = stored.reshape(len(self), self.dimension)  # the index's own storage: a view, no copy
            stored.flags.writeable = False
            self._rows = (held[order], order, stored)
        held, order, stored = self._rows
        at = np.minimum(np.searchsorted(held, ids), len(held) - 1)
        missing = held[at] != ids
        if missing.any():
            raise KeyError(int(ids[missing][0]))
        return np.array(stored[order[at]], dtype=np.float32)

    def search(
        self, query: np.ndarray, k: int, allowed: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (ids, scores) for one query vector, best first. ``allowed`` (chunk ids,
        or the same :meth:`prepare`-d) restricts the search to those ids *before* the top k
        is cut.

        A flat index with most ids allowed (at least :data:`UNFILTERED_SHARE`, e.g. every
        public chunk for a caller outside a small private group) is searched without the
        selector, which keeps FAISS's BLAS path, to a depth that should hold ``k`` allowed
        ids; the hidden ones are dropped here. The result is the same as the filtered
        search's (exact search); when the depth held too few, the filtered search runs."""
        if not len(self) or k <= 0 or (allowed is not None and not len(allowed)):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        _apply_thread_limit()
        if allowed is None:
            return self._found(*self._index.search(q, min(k, len(self))))
        prepared = allowed if isinstance(allowed, AllowedIds) else self.prepare(allowed)
        if self.kind == "flat" and len(prepared) >= UNFILTERED_SHARE * len(self):
            depth = min(len(self), 2 * k * len(self) // len(prepared) + k)
            ids, scores = self._found(*self._index.search(q, depth))
            keep = prepared.admits(ids)
            if int(keep.sum()) >= k or depth == len(self):
                return ids[keep][:k], scores[keep][:k]
        params = (
            faiss.SearchParametersHNSW(sel=prepared.selector, efSearch=max(self.options.ef_search, k))  # type: ignore[attr-defined]
            if self.kind == "hnsw"
            else faiss.SearchParameters(sel=prepared.selector)  # type: ignore[call-arg]
        )
        return self._found(*self._index.search(q, min(k, len(self)), params=params))

    def search_many(
        self, queries: np.ndarray, k: int, allowed: Any = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` for each row of ``queries`` (shape (n, d)), in order. A flat index
        searches them in one FAISS call (one pass over the vectors, BLAS: a single query
        reads every vector, so n of them cost about as much as one); other kinds, and the
        rows whose unfiltered depth held too few allowed ids, search one by one."""
        if self.kind != "flat" or len(queries) < 2 or not len(self) or k <= 0:
            return [self.search(q, k, allowed) for q in queries]
        prepared = allowed if allowed is None or isinstance(allowed, AllowedIds) else self.prepare(allowed)
        if prepared is not None and len(prepared) < UNFILTERED_SHARE * len(self):
            return [self.search(q, k, prepared) for q in queries]
        q = np.ascontiguousarray(queries, dtype=np.float32)
        _apply_thread_limit()
        depth = min(len(self), k if prepared is None else 2 * k * len(self) // max(len(prepared), 1) + k)
        scores, ids = self._index.search(q, depth)
        found = []
        for row in range(len(q)):
            row_ids, row_scores = self._found(scores[row:row + 1], ids[row:row + 1])
            keep = np.ones(len(row_ids), dtype=bool) if prepared is None else prepared.admits(row_ids)
            if int(keep.sum()) >= k or depth == len(self):
                found.append((row_ids[keep][:k], row_scores[keep][:k]))
            else:
                found.append(self.search(q[row], k, prepared))
        return found

    @staticmethod
    def _found(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of one query's FAISS result row, without the -1 padding."""
        found = ids[0] >= 0
        return ids[0][found], scores[0][found]

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        faiss.write_index(self._index, str(path))


_limit: list[int] = []
"""The cap set by :func:`limit_threads` (empty: FAISS's default, one thread per core)."""
_applied = threading.local()


def limit_threads(threads: int) -> None:
    """Cap the OpenMP threads FAISS uses per search, in every thread that searches.

    OpenMP keeps the count per thread: set once on the server's main thread, it never reached
    the worker threads that run the requests, so each search woke a second OpenMP thread whose
    spinning cost ~10-15 ms of CPU per request (docs/benchmarks.md, load). :meth:`FaissVectors.search`
    applies the cap in its own thread on first use."""
    _limit[:] = [threads]
    _applied.threads = threads
    faiss.omp_set_num_threads(threads)


def thread_count() -> int:
    """The OpenMP threads FAISS would use for a search started in the calling thread now."""
    return int(faiss.omp_get_max_threads())


def _apply_thread_limit() -> None:
    if _limit and getattr(_applied, "threads", None) != _limit[0]:
        faiss.omp_set_num_threads(_limit[0])
        _applied.threads = _limit[0]
