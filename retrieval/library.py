"""The served knowledge base: the current snapshot of an index directory, reopened when an
ingest swaps in a new one, plus the embedder and the search settings."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from retrieval.embedding import Embedder
from retrieval.index import IndexDir, Snapshot, snapshot_stats
from retrieval.search import Searcher

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0


class Library:
    """Gives callers the newest committed snapshot and a searcher over it."""

    def __init__(self, index_dir: IndexDir, embedder: Embedder, search_options: dict[str, Any] | None = None):
        self.index_dir = index_dir
        self.embedder = embedder
        self.search_options = search_options or {}
        self._lock = threading.Lock()
        self._snapshot = index_dir.open(embedder.model_id)
        self._searcher = Searcher(self._snapshot, embedder, **self.search_options)
        self._checked = time.monotonic()

    def snapshot(self) -> Snapshot:
        """The current snapshot (swapped for a newer one at most every second)."""
        self._refresh()
        return self._snapshot

    def searcher(self) -> Searcher:
        """A searcher over :meth:`snapshot`."""
        self._refresh()
        return self._searcher

    def _refresh(self) -> None:
        if time.monotonic() - self._checked < RECHECK_SECONDS:
            return
        with self._lock:
            self._checked = time.monotonic()
            current = self.index_dir.current_path()
            if current is None or current.name == self._snapshot.name:
                return
            snapshot = self.index_dir.open(self.embedder.model_id)
            log.info("serving new snapshot %s", snapshot.name)
            # the old snapshot stays open: requests in flight may still read it
            self._snapshot, self._searcher = snapshot, Searcher(snapshot, self.embedder, **self.search_options)

    def stats(self) -> dict[str, Any]:
        """See :func:`retrieval.index.snapshot_stats`."""
        return snapshot_stats(self.snapshot())
