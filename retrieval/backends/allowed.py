"""The chunk ids a caller may see under some filters, from ``Catalog.select_chunks``, in the
form one index searches fastest, kept per (filters, groups) for the life of an open snapshot
(a snapshot never changes). Shared by the FAISS, FTS5 and sparse BM25 indexes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

from retrieval.filters import Filters
from retrieval.storage import Catalog
from retrieval.views import Groups

T = TypeVar("T")


class KeptPerCaller(Generic[T]):
    """``prepare(ids)`` of the allowed chunk ids (int64 array) for each (filters, groups)
    pair, None when every chunk is allowed; the ``kept`` most recently used pairs are kept."""

    def __init__(self, catalog: Catalog, prepare: Callable[[np.ndarray], T], kept: int) -> None:
        self._catalog, self._prepare, self._bound = catalog, prepare, kept
        self._kept: OrderedDict[tuple[Filters, Groups], T | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, where: Filters, groups: Groups) -> T | None:
        """The prepared allowed ids of ``where`` for a caller in ``groups`` (None: all)."""
        key = (where, tuple(sorted(set(groups))))
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        ids = self._catalog.select_chunks(where, key[1])
        prepared = None if ids is None else self._prepare(np.asarray(ids, dtype=np.int64))
        with self._lock:
            self._kept[key] = prepared
            while len(self._kept) > self._bound:
                self._kept.popitem(last=False)
        return prepared
