"""The served knowledge base: the current snapshot of an index directory, reopened when an
ingest swaps in a new one, plus the embedder and the search settings."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from retrieval.answer import ANSWER_HITS, Answer, compose_answer
from retrieval.embedding import Embedder
from retrieval.experts import EXPERT_HITS, Expert, find_experts, suggest_experts
from retrieval.filters import Filters
from retrieval.index import IndexDir, Snapshot, snapshot_stats
from retrieval.search import Searcher

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
WHO_TO_ASK_FROM = 0.25
"""Below this answer confidence the question is off-topic: nobody here is worth suggesting."""


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

    def ask(
        self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k_experts: int = 3,
    ) -> Answer:
        """A cited answer from what ``groups`` may see, with who to ask (see :func:`compose_answer`)."""
        searcher = self.searcher()
        hits = searcher.search(question, k=EXPERT_HITS, filters=filters, groups=groups, collapse=False)
        answer = compose_answer(question, hits[:ANSWER_HITS], self.embedder, searcher.snapshot.db)
        if answer.confidence >= WHO_TO_ASK_FROM:
            answer.experts = suggest_experts(hits, searcher.snapshot.db, k=k_experts, groups=groups)
        if answer.abstained and answer.experts:
            answer.text += " You could ask " + " or ".join(e.name for e in answer.experts[:2]) + "."
        return answer

    def experts(
        self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k: int = 5,
    ) -> list[Expert]:
        """Members to ask about ``question``, on evidence ``groups`` may see (see :func:`find_experts`)."""
        return find_experts(self.searcher(), question, filters=filters, groups=groups, k=k)
