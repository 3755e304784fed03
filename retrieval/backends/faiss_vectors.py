""":class:`~retrieval.storage.VectorIndex` on FAISS (``vectors.faiss`` in the snapshot folder).

FAISS knows nothing of documents, so filters and visibility are resolved through the catalog
into the list of chunk ids the search may return (``Catalog.select_chunks``), kept per
(filters, groups) for the life of the immutable snapshot, and passed to FAISS as an id
selector: the restriction applies before the top k is cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.backends.allowed import KeptPerCaller
from retrieval.backends.faiss_index import FaissVectors
from retrieval.backends.options import FaissOptions, options_of
from retrieval.filters import Filters
from retrieval.storage import Catalog, CatalogBuilder, Place, Scored
from retrieval.views import ChunkEntry, Groups

VECTORS_FILE = "vectors.faiss"
ALLOWED_KEPT = 64
"""(filters, groups) pairs whose allowed chunk ids are kept per open snapshot."""


class FaissVectorIndex:
    """See :class:`~retrieval.storage.VectorIndex`."""

    def __init__(self, vectors: FaissVectors, catalog: Catalog) -> None:
        self.index, self._catalog = vectors, catalog
        self.kind, self.dimension = vectors.kind, vectors.dimension
        self._allowed: KeptPerCaller[Any] = KeptPerCaller(catalog, vectors.prepare, ALLOWED_KEPT)

    def __len__(self) -> int:
        return len(self.index)

    def allowed(self, where: Filters, groups: Groups) -> Any:
        """Chunk ids the search may return (None: all), from the catalog, prepared for the
        index (:meth:`FaissVectors.prepare`) and cached."""
        return self._allowed.get(where, groups)

    def search(self, vector: np.ndarray, k: int, where: Filters, groups: Groups) -> Scored:
        ids, scores = self.index.search(vector, k, self.allowed(where, groups))
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]

    def search_many(self, vectors: np.ndarray, k: int, where: Filters, groups: Groups) -> list[Scored]:
        found = self.index.search_many(vectors, k, self.allowed(where, groups))
        return [[(int(i), float(s)) for i, s in zip(ids, scores, strict=True)] for ids, scores in found]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        return self.index.reconstruct(np.asarray(ids, dtype=np.int64))

    def close(self) -> None:
        """Release the index's files, if it keeps any open."""
        self.index.close()


class FaissBuilder:
    """See :class:`~retrieval.storage.VectorBuilder`: the previous snapshot's index, loaded
    (or a new one of the kind that fits), changed in memory and written at commit."""

    def __init__(self, place: Place, vectors: FaissVectors) -> None:
        self._place, self.index = place, vectors
        self.dimension = vectors.dimension

    def __len__(self) -> int:
        return len(self.index)

    def add(self, entries: Sequence[ChunkEntry], vectors: np.ndarray) -> None:
        self.index.add(np.array([e.id for e in entries], dtype=np.int64), vectors)

    def remove(self, ids: Sequence[int]) -> None:
        self.index.remove(np.asarray(ids, dtype=np.int64))

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        return self.index.reconstruct(np.asarray(ids, dtype=np.int64))

    def commit(self) -> dict[str, Any]:
        """Rebuild as the kind that fits the final size (e.g. flat -> HNSW), then save."""
        resized = self.index.resized()
        if resized is not self.index:
            self.index.close()
        self.index = resized
        self.index.save(self._place.path / VECTORS_FILE)
        self.index.close()  # a quantised index's vector file of the previous snapshot
        return {"kind": self.index.kind}

    def discard(self) -> None:
        """Nothing was written outside the snapshot folder."""
        self.index.close()


class FaissFactory:
    """Registered as ``faiss``; options: :class:`~retrieval.backends.options.FaissOptions`."""

    def open(self, place: Place, catalog: Catalog) -> FaissVectorIndex:
        """See :class:`~retrieval.storage.VectorFactory`."""
        options = options_of(FaissOptions, place.options, "faiss")
        return FaissVectorIndex(FaissVectors.load(place.path / VECTORS_FILE, options), catalog)

    def build(self, place: Place, catalog: CatalogBuilder) -> FaissBuilder:
        """See :class:`~retrieval.storage.VectorFactory`."""
        options = options_of(FaissOptions, place.options, "faiss")
        if place.previous is not None:
            return FaissBuilder(place, FaissVectors.load(place.previous / VECTORS_FILE, options))
        return FaissBuilder(place, FaissVectors.empty(place.dimension, "flat", options))  # resized at commit

    def drop(self, place: Place) -> None:
        """Nothing lives outside the snapshot folder."""
