"""The served knowledge base: the current snapshot of an index directory, reopened when an
ingest swaps in a new one, plus the embedder and the search settings."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from retrieval.answer import ANSWER_HITS, Answer, Answerer, Evidence, ExtractiveAnswerer
from retrieval.embedding import Embedder
from retrieval.experts import EXPERT_HITS, Expert, MemberStats, find_experts, suggest_experts
from retrieval.filters import Filters
from retrieval.index import IndexDir, Snapshot, snapshot_stats
from retrieval.search import Searcher

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
WHO_TO_ASK_FROM = 0.25
"""Below this answer confidence the question is off-topic: nobody here is worth suggesting."""
MEMBER_STATS_KEPT = 32
"""Group sets whose member facts (activity, volume) are kept for the served snapshot."""


class Library:
    """Gives callers the newest committed snapshot and a searcher over it."""

    def __init__(
        self, index_dir: IndexDir, embedder: Embedder, search_options: dict[str, Any] | None = None,
        answerer: Answerer | None = None,
    ):
        self.index_dir = index_dir
        self.embedder = embedder
        self.search_options = search_options or {}
        self.answerer: Answerer = answerer or ExtractiveAnswerer()
        self._lock = threading.Lock()
        self._snapshot = index_dir.open(embedder.model_id)
        self._searcher = Searcher(self._snapshot, embedder, **self.search_options)
        self._checked = time.monotonic()
        self._member_stats: OrderedDict[tuple[str, tuple[str, ...]], MemberStats] = OrderedDict()

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
        """A cited answer from what ``groups`` may see (by :attr:`answerer`), with who to ask.

        The result is structured (text, citations, confidence, abstained, closest documents,
        experts); :func:`retrieval.answer.worded` words it for a reader."""
        searcher = self.searcher()
        hits = searcher.search(question, k=EXPERT_HITS, filters=filters, groups=groups, collapse=False)
        snapshot = searcher.snapshot
        evidence = Evidence(question, hits[:ANSWER_HITS], self.embedder, snapshot.catalog, snapshot.lexical, groups)
        answer = self.answerer.answer(evidence)
        if answer.confidence >= WHO_TO_ASK_FROM:
            answer.experts = suggest_experts(hits, snapshot.catalog, k=k_experts, groups=groups,
                                             stats=self.member_stats(searcher, groups))
        return answer

    def experts(
        self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k: int = 5,
    ) -> list[Expert]:
        """Members to ask about ``question``, on evidence ``groups`` may see (see :func:`find_experts`)."""
        searcher = self.searcher()
        return find_experts(searcher, question, filters=filters, groups=groups, k=k,
                            stats=self.member_stats(searcher, groups))

    def member_stats(self, searcher: Searcher, groups: tuple[str, ...]) -> MemberStats:
        """Member facts of ``searcher``'s snapshot as ``groups`` may see them, kept between
        requests (a snapshot never changes; a new one starts afresh)."""
        key = (searcher.snapshot.name, tuple(sorted(set(groups))))
        with self._lock:
            stats = self._member_stats.get(key)
            if stats is None:
                for stale in [k for k in self._member_stats if k[0] != key[0]]:
                    del self._member_stats[stale]
                stats = self._member_stats[key] = MemberStats(searcher.snapshot.catalog, key[1])
                while len(self._member_stats) > MEMBER_STATS_KEPT:
                    self._member_stats.popitem(last=False)
        return stats
