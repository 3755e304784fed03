"""Building the ``sparse`` lexical index of a new snapshot (see :mod:`sparse_matrix` for the
files): the previous snapshot's term counts, minus removed chunks, plus the analysed texts of
added ones, merged at commit into a new matrix whose every weight is recomputed (N, document
frequencies and the average length change with each ingest). Only the new snapshot's folder
is written, so a failed ingest leaves the served snapshot as it was."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.backends.options import SparseOptions
from retrieval.backends.sparse_analysis import analyse, plain_tokens, term
from retrieval.backends.sparse_matrix import TermMatrix
from retrieval.views import ChunkEntry

TF_MAX = np.iinfo(np.uint16).max


class Postings:
    """Term counts of chunks added in this build, under build-local row and term numbers."""

    def __init__(self) -> None:
        self.terms: dict[str, int] = {}
        self.known: dict[str, int] = {}  # token -> its term's number
        self.ids: list[int] = []
        self.lengths: list[int] = []
        self.row_of: dict[int, int] = {}
        self.removed: set[int] = set()
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # row, term (uint32), count (uint16)

    def add(self, entries: Sequence[ChunkEntry]) -> None:
        rows: list[int] = []
        terms: list[int] = []
        vocabulary = self.terms
        for entry in entries:
            row = len(self.ids)
            self.row_of[entry.id] = row
            tokens = plain_tokens(entry.text)
            if tokens is None:
                found, length = analyse(entry.text)
                numbers = [vocabulary.setdefault(t, len(vocabulary)) for t in found]
            else:
                known = self.known
                numbers = [known[t] if t in known else self._token(t) for t in tokens[0]]
                numbers += [vocabulary.setdefault(t, len(vocabulary)) for t in tokens[1]]
                length = len(tokens[0])
            self.ids.append(entry.id)
            self.lengths.append(length)
            terms.extend(numbers)
            rows.extend([row] * len(numbers))
        if terms:
            keys, counts = np.unique((np.asarray(rows, np.int64) << 32) | np.asarray(terms, np.int64),
                                     return_counts=True)
            self.parts.append(((keys >> 32).astype(np.uint32), (keys & 0xFFFFFFFF).astype(np.uint32),
                               np.minimum(counts, TF_MAX).astype(np.uint16)))

    def _token(self, token: str) -> int:
        number = self.known[token] = self.terms.setdefault(term(token), len(self.terms))
        return number

    def remove(self, ids: Sequence[int]) -> None:
        for chunk in ids:
            row = self.row_of.pop(int(chunk), None)
            if row is not None:
                self.removed.add(row)

    def __len__(self) -> int:
        return len(self.row_of)


class SparseBuilder:
    """See :class:`~retrieval.storage.LexicalBuilder`."""

    def __init__(self, folder: Path, previous: TermMatrix | None, options: SparseOptions) -> None:
        self.folder, self.previous, self.options = folder, previous, options
        self.keep = np.ones(0 if previous is None else len(previous.ids), dtype=bool)
        self.new = Postings()

    def add(self, entries: Sequence[ChunkEntry]) -> None:
        self.new.add(entries)

    def remove(self, ids: Sequence[int]) -> None:
        self.new.remove(ids)
        if self.previous is not None and len(self.previous.ids) and len(ids):
            wanted = np.asarray(ids, dtype=np.int64)
            at = np.minimum(np.searchsorted(self.previous.ids, wanted), len(self.previous.ids) - 1)
            self.keep[at[self.previous.ids[at] == wanted]] = False

    def count(self) -> int:
        return int(self.keep.sum()) + len(self.new)

    def commit(self) -> dict[str, Any]:
        """Merge the previous postings with the new ones and write the matrix with fresh
        weights. Postings travel as (column int32, row uint32, count uint16), about 26 bytes
        each at the peak of the sort."""
        old_terms = [] if self.previous is None else self.previous.vocabulary.terms()
        new_terms = list(self.new.terms)
        terms = sorted(set(old_terms).union(new_terms))
        place = {t: i for i, t in enumerate(terms)}
        ids, lengths = self._rows()
        parts = [self._old_postings(np.array([place[t] for t in old_terms], dtype=np.int32), ids),
                 self._new_postings(np.array([place[t] for t in new_terms], dtype=np.int32), ids)]
        columns, rows, tf = (np.concatenate([p[i] for p in parts]) for i in range(3))
        order = np.argsort((columns.astype(np.int64) << 32) | rows)
        columns, rows, tf = columns[order], rows[order], tf[order]
        del order
        df = np.bincount(columns, minlength=len(terms))
        used = df > 0  # terms only removed chunks held
        starts = np.zeros(int(used.sum()) + 1, dtype=np.int64)
        np.cumsum(df[used], out=starts[1:])
        kept_terms = [t for t, u in zip(terms, used, strict=True) if u]
        TermMatrix.write(self.folder, kept_terms, starts, rows, tf, ids, lengths, self.options.k1, self.options.b)
        return {"kind": "sparse-bm25", "terms": len(kept_terms), "postings": int(len(rows)),
                "k1": self.options.k1, "b": self.options.b}

    def _old_postings(self, column_of: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column, row in ``ids``, count) of the previous snapshot's postings of kept chunks."""
        m = self.previous
        if m is None or not len(m.rows):
            return np.zeros(0, np.int32), np.zeros(0, np.uint32), np.zeros(0, np.uint16)
        row_of = np.searchsorted(ids, np.asarray(m.ids)).astype(np.uint32)  # old row -> new row (if kept)
        kept = self.keep[m.rows]
        columns = np.repeat(column_of, np.diff(np.asarray(m.columns)))[kept]
        return columns, row_of[m.rows[kept]], np.asarray(m.tf)[kept]

    def _new_postings(self, column_of: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column, row in ``ids``, count) of this build's postings of chunks still present."""
        if not self.new.parts:
            return np.zeros(0, np.int32), np.zeros(0, np.uint32), np.zeros(0, np.uint16)
        rows, terms, counts = (np.concatenate([p[i] for p in self.new.parts]) for i in range(3))
        row_of = np.searchsorted(ids, np.asarray(self.new.ids, dtype=np.int64)).astype(np.uint32)
        kept = self.alive()[rows]
        return column_of[terms[kept]], row_of[rows[kept]], counts[kept]

    def alive(self) -> np.ndarray:
        """Which rows added in this build are still present (not removed again)."""
        alive = np.ones(len(self.new.ids), dtype=bool)
        alive[list(self.new.removed)] = False
        return alive

    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids of the new matrix, ascending, and their lengths."""
        alive = self.alive()
        ids = np.asarray(self.new.ids, dtype=np.int64)[alive]
        lengths = np.asarray(self.new.lengths, dtype=np.int64)[alive]
        if self.previous is not None:
            ids = np.concatenate([np.asarray(self.previous.ids)[self.keep], ids])
            lengths = np.concatenate([np.asarray(self.previous.lengths, dtype=np.int64)[self.keep], lengths])
        order = np.argsort(ids, kind="stable")
        return ids[order], lengths[order]

    def discard(self) -> None:
        """Nothing is written outside the snapshot folder (which the writer removes)."""
