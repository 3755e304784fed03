"""Vectors for big indexes (kind ``hnsw-sq8``): an HNSW graph over 8-bit scalar-quantised
codes kept in memory (d bytes per vector instead of 4d), the full float32 vectors in a file
beside it, and every answer rescored exactly from that file.

A search walks the graph for a short list (``rescore_factor`` x k rows, by the quantised
inner product), reads those rows' float32 vectors with ``os.pread`` and returns the best k by
their exact cosine. The vector file is read, never memory-mapped: the pages it touches stay in
the kernel's page cache (shared, reclaimable) and do not count in the server's resident memory.

Files next to ``vectors.faiss`` (a bare ``IndexHNSWSQ`` whose labels are row numbers):
``vectors.faiss.ids.npy`` (int64 chunk id of each row) and ``vectors.faiss.f32`` (row-major
float32, shape (rows, d)). Removed rows stay in the graph as tombstones (their id becomes
:data:`TOMBSTONE`, and every search excludes them) until they are more than
:data:`COMPACT_SHARE` of the rows; then the index is rebuilt from the live rows. So an
incremental ingest that replaces a few threads costs milliseconds, not a rebuild of the graph
(about two minutes at 100k vectors on this machine).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from retrieval.backends.faiss_index import FaissVectors
from retrieval.backends.options import FaissOptions

log = logging.getLogger(__name__)

KIND = "hnsw-sq8"
IDS_SUFFIX = ".ids.npy"
RAW_SUFFIX = ".f32"
TRAIN_ROWS = 65_536
"""Rows sampled to learn the quantiser's ranges (with their negations: a symmetric range
leaves room for vectors added later)."""
SCAN_SHARE = 0.05
"""Below this share of rows allowed, a filtered search scans the allowed rows' codes instead
of walking the graph (a graph walk through mostly forbidden nodes finds too few)."""
SCAN_BLOCK = 8192
TOMBSTONE = -1
"""The id of a removed row (chunk ids are never negative)."""
COMPACT_SHARE = 0.25
"""Rebuild from the live rows once removed rows exceed this share of all rows."""


def sidecars(path: Path) -> tuple[Path, Path]:
    """The id file and the float32 vector file of the index written at ``path``."""
    return path.with_name(path.name + IDS_SUFFIX), path.with_name(path.name + RAW_SUFFIX)


class RowFile:
    """float32 rows of width ``dimension`` in a file, read by row number with ``os.pread``."""

    def __init__(self, path: Path, dimension: int) -> None:
        self.path, self.dimension = path, dimension
        self._fd = os.open(path, os.O_RDONLY)
        self.rows = os.fstat(self._fd).st_size // (4 * dimension)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (all < :attr:`rows`), shape (len(rows), d), in the order given."""
        width = 4 * self.dimension
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        for at, row in enumerate(np.asarray(rows, dtype=np.int64)):
            out[at] = np.frombuffer(os.pread(self._fd, width, int(row) * width), dtype=np.float32)
        return out

    def close(self) -> None:
        """Release the file descriptor."""
        os.close(self._fd)


@dataclass(frozen=True)
class Subset:
    """The rows a filtered search may return: sorted row numbers and a FAISS bitmap selector
    over them (the bitmap array must live as long as the selector)."""

    rows: np.ndarray
    bitmap: np.ndarray
    selector: faiss.IDSelector


class QuantizedVectors(FaissVectors):
    """See the module doc. Same interface as :class:`FaissVectors`."""

    def __init__(self, graph: faiss.Index, ids: np.ndarray, stored: RowFile | None, options: FaissOptions) -> None:
        super().__init__(graph, KIND, options)
        self._ids = np.asarray(ids, dtype=np.int64)
        self._stored = stored
        self._on_disk = stored.rows if stored is not None else 0
        self._pending: list[np.ndarray] = []
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._live: Subset | None = None
        """Every live row, when some rows are tombstones (made on first use)."""
        self._removed = int((self._ids == TOMBSTONE).sum())

    @classmethod
    def new(cls, dimension: int, options: FaissOptions) -> QuantizedVectors:
        """An empty index (trained on its first :meth:`add`)."""
        graph: Any = faiss.IndexHNSWSQ(
            dimension, faiss.ScalarQuantizer.QT_8bit, options.hnsw_m, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
        graph.hnsw.efConstruction = options.ef_construction
        graph.hnsw.efSearch = options.ef_search
        return cls(graph, np.zeros(0, dtype=np.int64), None, options)

    @classmethod
    def open(cls, path: Path, options: FaissOptions) -> QuantizedVectors:
        """Read the index written at ``path`` by :meth:`save` (the vector file stays on disk)."""
        graph: Any = faiss.read_index(str(path))
        graph.hnsw.efSearch = options.ef_search
        id_path, raw_path = sidecars(path)
        ids = np.load(id_path)
        stored = RowFile(raw_path, int(graph.d))
        if not len(ids) == graph.ntotal == stored.rows:
            stored.close()
            raise ValueError(f"{path}: {graph.ntotal} vectors, {len(ids)} ids, {stored.rows} stored rows disagree")
        return cls(graph, ids, stored, options)

    def __len__(self) -> int:
        """Live vectors (tombstones left out)."""
        return len(self._ids) - self._removed

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n, d) under new int64 ``ids`` (n,)."""
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not self._index.is_trained:
            sample = vectors[np.random.default_rng(0).permutation(len(vectors))[:TRAIN_ROWS]]
            self._index.train(np.vstack([sample, -sample]))
        self._index.add(vectors)
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._pending.append(vectors)
        self._sorted, self._live = None, None

    def remove(self, ids: np.ndarray) -> None:
        """Drop the vectors of ``ids`` (unknown ids are ignored): their rows become
        tombstones, and the index is rebuilt from the live rows once tombstones exceed
        :data:`COMPACT_SHARE` of the rows."""
        wanted = np.asarray(ids, dtype=np.int64)
        drop = np.isin(self._ids, wanted[wanted != TOMBSTONE])
        if not drop.any():
            return
        self._ids = self._ids.copy()  # the array may be shared with a saved snapshot's reader
        self._ids[drop] = TOMBSTONE
        self._removed += int(drop.sum())
        self._sorted, self._live = None, None
        if self._removed > COMPACT_SHARE * len(self._ids):
            self.compact()

    def compact(self) -> None:
        """Rebuild the graph from the live rows only (no tombstones left)."""
        keep = np.flatnonzero(self._ids != TOMBSTONE)
        rebuilt = QuantizedVectors.new(self.dimension, self.options)
        rebuilt.add(self._ids[keep], self.read(keep))
        self.close()
        self.__dict__.update(rebuilt.__dict__)

    def ids(self) -> np.ndarray:
        """The live ids, in row order."""
        return self._ids[self._ids != TOMBSTONE] if self._removed else self._ids.copy()

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row numbers of chunk ``ids``; an unknown id raises KeyError."""
        if self._sorted is None:
            live = np.flatnonzero(self._ids != TOMBSTONE)
            order = live[np.argsort(self._ids[live], kind="stable")]
            self._sorted = (self._ids[order], order)
        keys, order = self._sorted
        wanted = np.asarray(ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        found = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
        if not found.all():
            raise KeyError(int(wanted[np.flatnonzero(~found)[0]]))
        return np.asarray(order[at], dtype=np.int64)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """float32 vectors of ``rows`` (n, d), from the file or from vectors added since."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        on_disk = self._on_disk
        old = rows < on_disk
        if old.any():
            if self._stored is None:
                raise ValueError("the vector file of this index is closed")
            out[old] = self._stored.read(rows[old])
        if (~old).any():
            if len(self._pending) > 1:
                self._pending = [np.concatenate(self._pending)]
            out[~old] = self._pending[0][rows[~old] - on_disk]
        return out

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored float32 vectors of chunk ``ids`` (n, d); an unknown id raises KeyError."""
        return self.read(self.rows_of(ids))

    def prepare(self, allowed: np.ndarray) -> Subset:
        """The rows of the allowed chunk ids (ids not held are ignored), as a :class:`Subset`."""
        wanted = np.asarray(allowed, dtype=np.int64)
        mask = np.isin(self._ids, wanted[wanted != TOMBSTONE])
        return self._subset(mask)

    def _subset(self, mask: np.ndarray) -> Subset:
        """The :class:`Subset` of the rows where ``mask`` (one bool per row) is true."""
        bitmap = np.packbits(mask, bitorder="little")
        return Subset(np.flatnonzero(mask), bitmap, faiss.IDSelectorBitmap(bitmap))  # type: ignore[call-arg,arg-type]

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | Subset | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (chunk ids, exact cosines) for one query vector, best first; only rows
        of ``allowed`` (chunk ids or a prepared :class:`Subset`) if given."""
        subset = self.prepare(allowed) if isinstance(allowed, np.ndarray) else allowed
        if subset is None and self._removed:
            if self._live is None:
                self._live = self._subset(self._ids != TOMBSTONE)
            subset = self._live
        if not len(self) or k <= 0 or (subset is not None and not len(subset.rows)):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        short = min(max(k * self.options.rescore_factor, k), len(self))
        if subset is not None and len(subset.rows) < SCAN_SHARE * len(self):
            rows = self._scan(q, short, subset)
        else:
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.options.ef_search, short), sel=None if subset is None else subset.selector)
            _, found = self._index.search(q, short, params=params)
            rows = found[0][found[0] >= 0]
        scores = self.read(rows) @ q[0]
        best = np.argsort(-scores, kind="stable")[:k]
        return self._ids[rows[best]], scores[best]

    def _scan(self, q: np.ndarray, short: int, subset: Subset) -> np.ndarray:
        """The best ``short`` allowed rows by their quantised codes, scanned without the graph
        (in blocks of :data:`SCAN_BLOCK` rows, so memory stays small)."""
        if len(subset.rows) <= short:
            return subset.rows
        storage: Any = faiss.downcast_index(self._index.storage)  # type: ignore[attr-defined]
        codes = faiss.rev_swig_ptr(storage.codes.data(), storage.codes.size()).reshape(-1, storage.code_size)
        scores = np.concatenate([
            storage.sa_decode(np.ascontiguousarray(codes[subset.rows[at:at + SCAN_BLOCK]])) @ q[0]
            for at in range(0, len(subset.rows), SCAN_BLOCK)
        ])
        return subset.rows[np.argpartition(-scores, short - 1)[:short]]

    def save(self, path: Path) -> None:
        """Write the graph, the ids and every float32 vector (stored ones copied) beside ``path``."""
        id_path, raw_path = sidecars(path)
        faiss.write_index(self._index, str(path))
        np.save(id_path, self._ids)
        with raw_path.open("wb") as out:
            if self._stored is not None:
                with self._stored.path.open("rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 22)
            for block in self._pending:
                out.write(block.tobytes())

    def close(self) -> None:
        """Release the vector file."""
        if self._stored is not None:
            self._stored.close()
            self._stored = None

