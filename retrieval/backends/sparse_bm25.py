""":class:`~retrieval.storage.LexicalIndex` over a sparse term matrix (registered as ``sparse``):
Okapi BM25 weights precomputed per (term, chunk) at ingest (:mod:`sparse_matrix`, built by
:mod:`sparse_build`), so a query only sums its terms' columns into one score per chunk,
instead of FTS5 computing bm25() for every row of every posting list it walks.

A query: the words of ``retrieval.words.query_words``, the common ones left out and the
rarest ``max_terms`` kept as the ``fts5`` index does (:class:`SparseOptions`); each word's
column added into a float32 score array (a word's column counted once per query word that
analyses to it, as FTS5 counts a repeated phrase); the chunks the caller may see (the
catalog's :meth:`~retrieval.storage.Catalog.select_chunks`, the one visibility rule, turned
into a row mask kept per (filters, groups) for the life of the snapshot) applied as a mask;
then the top ``k`` by score, ties by chunk id. Scores are BM25 as FTS5's ``-bm25()``
(same k1, b, idf), so the two backends rank alike.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

import numpy as np

from retrieval.backends.allowed import KeptPerCaller
from retrieval.backends.options import SparseOptions, options_of
from retrieval.backends.sparse_analysis import query_terms
from retrieval.backends.sparse_build import SparseBuilder
from retrieval.backends.sparse_matrix import TermMatrix
from retrieval.backends.word_choice import choose_words
from retrieval.filters import Filters
from retrieval.storage import Catalog, CatalogBuilder, Place, Scored
from retrieval.views import Groups
from retrieval.words import query_words

MASKS_KEPT = 32
"""(filters, groups) pairs whose row masks (one byte per chunk) are kept per open index."""
TERMS_KEPT = 100_000
"""Term -> column lookups kept per open index."""


def top_k(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``rows`` (ascending) by ``scores``, best first, ties by row."""
    if len(rows) > k:
        cut = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= cut
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]


def rows_mask(matrix_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """A bool mask over the rows of a term matrix whose chunk ids are ``matrix_ids`` (sorted
    int64, one per row): True where the row's chunk id is in ``ids`` (int64, any order; ids
    the matrix lacks are ignored)."""
    mask = np.zeros(len(matrix_ids), dtype=bool)
    if len(ids) and len(mask):
        at = np.minimum(np.searchsorted(matrix_ids, ids), len(mask) - 1)
        mask[at[matrix_ids[at] == ids]] = True
    return mask


class SparseBm25Index:
    """See :class:`~retrieval.storage.LexicalIndex`; scores are BM25 (higher is better)."""

    def __init__(self, matrix: TermMatrix, catalog: Catalog, options: SparseOptions) -> None:
        self.matrix, self.catalog, self.options = matrix, catalog, options
        self._columns: dict[str, int] = {}
        # the prepare step holds the matrix's id array, never ``self``: a bound method here
        # would make a reference cycle that keeps a closed snapshot's memory maps open
        self._masks = KeptPerCaller(catalog, partial(rows_mask, matrix.ids), MASKS_KEPT)

    @property
    def concurrent(self) -> bool:
        """True: searches only read memory-mapped arrays (caches are filled under a lock or
        by whole-value stores)."""
        return True

    def count(self) -> int:
        return len(self.matrix.ids)

    def search(self, text: str, k: int, where: Filters, groups: Groups) -> Scored:
        columns = self.query_columns(self.selective(query_words(text)))
        if not columns or k <= 0:
            return []
        m = self.matrix
        scores = np.zeros(len(m.ids), dtype=np.float32)
        for column, times in columns.items():
            start, end = int(m.columns[column]), int(m.columns[column + 1])
            weights = m.weights[start:end]
            scores[m.rows[start:end]] += weights if times == 1 else weights * times
        hit = scores > 0
        mask = self.mask(where, groups)
        if mask is not None:
            hit &= mask
        rows = np.flatnonzero(hit)
        rows, best = top_k(rows, scores[rows], k)
        return [(int(i), float(s)) for i, s in zip(m.ids[rows], best, strict=True)]

    def query_columns(self, words: list[str]) -> Counter[int]:
        """The columns of ``words`` (absent terms left out), each with how many words map to it."""
        found: Counter[int] = Counter()
        for word in words:
            for term in query_terms(word):
                column = self.column(term)
                if column >= 0:
                    found[column] += 1
        return found

    def column(self, term: str) -> int:
        """The column of ``term`` (-1: no chunk holds it), looked up once per open index."""
        column = self._columns.get(term)
        if column is None:
            if len(self._columns) > TERMS_KEPT:
                self._columns = {}
            column = self.matrix.vocabulary.column(term)
            self._columns[term] = column
        return column

    def mask(self, where: Filters, groups: Groups) -> np.ndarray | None:
        """Rows the caller may see (None: all), from ``Catalog.select_chunks``, kept."""
        return self._masks.get(where, groups)

    def selective(self, words: list[str]) -> list[str]:
        """The words of ``words`` scored (:func:`choose_words`, without a posting budget:
        summing a column costs little next to FTS5's per-row bm25())."""
        o = self.options
        return choose_words(words, self.count(), self.document_frequency, o.common_share, o.common_min_chunks,
                            o.max_terms)

    def document_frequency(self, word: str) -> int:
        """Chunks holding ``word``'s term (for a word of several tokens, the rarest one's)."""
        columns = [self.column(t) for t in query_terms(word)]
        if not columns or min(columns) < 0:
            return 0
        return min(self.matrix.document_frequency(c) for c in columns)

    def close(self) -> None:
        """The arrays are released with the object (memory maps close when unreferenced)."""


class SparseFactory:
    """Registered as ``sparse``; options: :class:`~retrieval.backends.options.SparseOptions`.
    Works with any catalog (it only asks it for the chunk ids a caller may see)."""

    def open(self, place: Place, catalog: Catalog) -> SparseBm25Index:
        """See :class:`~retrieval.storage.LexicalFactory`."""
        options = options_of(SparseOptions, place.options, "sparse")
        return SparseBm25Index(TermMatrix.load(place.path), catalog, options)

    def build(self, place: Place, catalog: CatalogBuilder) -> SparseBuilder:
        """See :class:`~retrieval.storage.LexicalFactory`: seeded with the previous snapshot's
        matrix (read, never written)."""
        options = options_of(SparseOptions, place.options, "sparse")
        previous = None if place.previous is None else TermMatrix.load(place.previous)
        return SparseBuilder(place.path, previous, options)

    def drop(self, place: Place) -> None:
        """Nothing lives outside the snapshot folder."""


def facts(index: SparseBm25Index) -> dict[str, Any]:
    """Size facts of an open index (for stats and benchmarks)."""
    m = index.matrix
    return {"chunks": len(m.ids), "terms": len(m.vocabulary), "postings": len(m.rows)}
