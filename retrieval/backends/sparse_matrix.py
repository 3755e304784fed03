"""The files of the ``sparse`` lexical index: Okapi BM25 term weights per (term, chunk) in a
compressed sparse column matrix, one column per term, as files of the snapshot folder::

    bm25-terms.bin        every term, UTF-8, sorted, concatenated (column i = i-th term)
    bm25-term-starts.npy  int64 (V+1): term i is terms.bin[starts[i]:starts[i+1]]
    bm25-columns.npy      int64 (V+1): column i holds postings columns[i]:columns[i+1]
    bm25-rows.npy         uint32 (nnz): the row of each posting, ascending within a column
    bm25-weights.npy      float32 (nnz): the posting's BM25 weight (see :func:`bm25_weights`)
    bm25-tf.npy           uint16 (nnz): the term's count in the chunk (capped), to rebuild weights
    bm25-ids.npy          int64 (N): chunk id of each row, ascending (ties by row = by chunk id)
    bm25-lengths.npy      uint32 (N): each chunk's length in tokens

Opened memory-mapped and read-only: a query touches only its terms' columns. At a million
chunks of forum text (about 80 postings a chunk) the postings take ~0.8 GB on disk, of
which a process keeps resident only the pages its queries read.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PREFIX = "bm25-"
NAMES = ("term-starts", "columns", "rows", "weights", "tf", "ids", "lengths")
MIN_IDF = 1e-6
"""Floor of a term's idf, as FTS5's bm25() (a term in over half the chunks still counts)."""


def bm25_weights(tf: np.ndarray, rows: np.ndarray, df: np.ndarray, lengths: np.ndarray,
                 k1: float, b: float) -> np.ndarray:
    """Okapi BM25 (Robertson & Zaragoza 2009) weight of each posting, as FTS5's bm25():
    ``idf * tf (k1 + 1) / (tf + k1 (1 - b + b |D| / avgdl))`` with
    ``idf = ln((N - df + 0.5) / (df + 0.5))`` floored at :data:`MIN_IDF`; float32, computed
    per column and per row first so a posting costs a few float32 temporaries.

    Args:
        tf: count of the term in the chunk, per posting, postings in column order.
        rows: the posting's row (index into ``lengths``).
        df: postings per column (the term's document frequency), one per column.
        lengths: tokens per row (N rows).
    """
    n = len(lengths)
    if n == 0 or not len(rows):
        return np.zeros(len(rows), dtype=np.float32)
    average = float(lengths.mean()) or 1.0
    idf = np.log((n - df + 0.5) / (df + 0.5))
    idf = np.where(idf > 0, idf, MIN_IDF).astype(np.float32)
    norm = (k1 * (1 - b + b * lengths.astype(np.float64) / average)).astype(np.float32)
    weights = tf.astype(np.float32)
    denominator = norm[rows]
    denominator += weights
    weights *= k1 + 1
    weights /= denominator
    weights *= np.repeat(idf, df)
    return weights


class Vocabulary:
    """The sorted terms of ``bm25-terms.bin``, looked up by binary search over the file."""

    def __init__(self, blob: bytes | mmap.mmap, starts: np.ndarray) -> None:
        self._blob, self._starts = blob, starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> bytes:
        return self._blob[int(self._starts[i]) : int(self._starts[i + 1])]

    def column(self, term: str) -> int:
        """The column of ``term``, or -1 when no chunk holds it."""
        wanted = term.encode()
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self[mid] < wanted:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self) and self[lo] == wanted else -1

    def terms(self) -> list[str]:
        """Every term, in column order."""
        return [self[i].decode() for i in range(len(self))]


@dataclass
class TermMatrix:
    """One snapshot's sparse index (arrays as in the module doc; memory-mapped when loaded)."""

    vocabulary: Vocabulary
    columns: np.ndarray
    rows: np.ndarray
    weights: np.ndarray
    tf: np.ndarray
    ids: np.ndarray
    lengths: np.ndarray

    @classmethod
    def load(cls, folder: Path) -> TermMatrix:
        """Open the files in ``folder`` read-only, memory-mapped."""
        arrays = {name: np.load(folder / f"{PREFIX}{name}.npy", mmap_mode="r") for name in NAMES}
        terms = folder / f"{PREFIX}terms.bin"
        with terms.open("rb") as handle:
            size = terms.stat().st_size
            blob: bytes | mmap.mmap = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        return cls(Vocabulary(blob, arrays.pop("term-starts")), **{k: v for k, v in arrays.items()})

    @classmethod
    def write(cls, folder: Path, terms: list[str], columns: np.ndarray, rows: np.ndarray, tf: np.ndarray,
              ids: np.ndarray, lengths: np.ndarray, k1: float, b: float) -> None:
        """Write a matrix (``terms`` sorted, every column non-empty) with its BM25 weights."""
        folder.mkdir(parents=True, exist_ok=True)
        encoded = [t.encode() for t in terms]
        starts = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in encoded], out=starts[1:])
        (folder / f"{PREFIX}terms.bin").write_bytes(b"".join(encoded))
        df = np.diff(columns)
        weights = bm25_weights(tf, rows, df, lengths, k1, b)
        arrays = {"term-starts": starts, "columns": columns, "rows": rows.astype(np.uint32), "weights": weights,
                  "tf": tf.astype(np.uint16), "ids": ids.astype(np.int64), "lengths": lengths.astype(np.uint32)}
        for name, array in arrays.items():
            np.save(folder / f"{PREFIX}{name}.npy", array)

    def document_frequency(self, column: int) -> int:
        return int(self.columns[column + 1] - self.columns[column])
