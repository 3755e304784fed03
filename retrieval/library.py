"""The served knowledge base: the current snapshot of an index directory, reopened when an
ingest swaps in a new one, plus the embedder and the search settings.

A request pins the snapshot it started with (:meth:`Library.lease`) and uses it throughout;
a snapshot that is no longer current is closed as soon as no lease holds it, so serving
while ingesting keeps one snapshot open (two during a swap), not one per ingest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from retrieval.answer import ANSWER_HITS, Answer, Answerer, Evidence, ExtractiveAnswerer
from retrieval.answer.llm_writer import Draft, draft_of
from retrieval.caller_stats import caller_stats
from retrieval.embedding import Embedder
from retrieval.experts import EXPERT_HITS, Expert, MemberStats, find_experts, suggest_experts
from retrieval.filters import Filters
from retrieval.index import IndexDir, Snapshot, snapshot_stats
from retrieval.query_cache import QueryCachedEmbedder
from retrieval.search import Hit, Searcher

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
WHO_TO_ASK_FROM = 0.25
"""Below this answer confidence the question is off-topic: nobody here is worth suggesting."""
MEMBER_STATS_KEPT = 32
"""Group sets whose member facts (activity, volume) are kept for the served snapshot."""
PROFILES_KEPT = 4
"""Of those, the most recently used group sets whose members' topical profiles are kept (up to
~150 MB each on a big community, see :mod:`retrieval.experts_profiles`); the others' are
released and rebuilt when their group set asks again."""


class Library:
    """Gives callers the newest committed snapshot and a searcher over it."""

    def __init__(
        self, index_dir: IndexDir, embedder: Embedder, search_options: dict[str, Any] | None = None,
        answerer: Answerer | None = None,
    ):
        self.index_dir = index_dir
        # a request embeds its question more than once (the search, the experts' profiles,
        # the knowledge-gap log): single texts go through a query cache, whoever built us
        self.embedder = embedder if isinstance(embedder, QueryCachedEmbedder) else QueryCachedEmbedder(embedder)
        self.search_options = search_options or {}
        self.answerer: Answerer = answerer or ExtractiveAnswerer()
        self._lock = threading.Lock()
        self._snapshot = index_dir.open(self.embedder.model_id)
        self._searcher = Searcher(self._snapshot, self.embedder, **self.search_options)
        self._checked = time.monotonic()
        self._member_stats: OrderedDict[tuple[str, tuple[str, ...]], MemberStats] = OrderedDict()
        self._leases: Counter[str] = Counter()
        self._retired: list[Snapshot] = []

    def snapshot(self) -> Snapshot:
        """The current snapshot (swapped for a newer one at most every second)."""
        self._refresh()
        return self._snapshot

    def searcher(self) -> Searcher:
        """A searcher over :meth:`snapshot`."""
        self._refresh()
        return self._searcher

    def refresh_due(self) -> bool:
        """True when the next :meth:`snapshot`, :meth:`searcher` or :meth:`lease` call will
        look for a newer snapshot (and may open it): a caller on an event loop can make that
        call in a thread instead."""
        return time.monotonic() - self._checked >= RECHECK_SECONDS

    def _refresh(self) -> None:
        if not self.refresh_due():
            return
        with self._lock:
            self._checked = time.monotonic()
            current = self.index_dir.current_path()
            if current is None or current.name == self._snapshot.name:
                return
            snapshot = self.index_dir.open(self.embedder.model_id)
            log.info("serving new snapshot %s", snapshot.name)
            self._retired.append(self._snapshot)  # closed once no lease holds it
            self._snapshot, self._searcher = snapshot, Searcher(snapshot, self.embedder, **self.search_options)
            self._close_unused()

    @contextmanager
    def lease(self) -> Iterator[Pinned]:
        """The current snapshot, pinned for the ``with`` block: it stays open (even if an
        ingest swaps in a newer one meanwhile) until the block ends."""
        self._refresh()
        with self._lock:
            searcher = self._searcher
            self._leases[searcher.snapshot.name] += 1
        try:
            yield Pinned(self, searcher)
        finally:
            with self._lock:
                self._leases[searcher.snapshot.name] -= 1
                self._close_unused()

    def open_snapshots(self) -> list[str]:
        """Names of the snapshots this library holds open (the current one first)."""
        with self._lock:
            return [self._snapshot.name, *(s.name for s in self._retired)]

    def _close_unused(self) -> None:
        """Close retired snapshots no lease holds (the caller holds ``_lock``)."""
        for snapshot in [s for s in self._retired if self._leases[s.name] <= 0]:
            self._retired.remove(snapshot)
            self._leases.pop(snapshot.name, None)
            for key in [k for k in self._member_stats if k[0] == snapshot.name]:
                del self._member_stats[key]
            snapshot.close()
            log.info("closed snapshot %s", snapshot.name)

    def stats(self, groups: tuple[str, ...] | None = None, whole_index: bool = True) -> dict[str, Any]:
        """See :func:`retrieval.index.snapshot_stats`; with ``groups``, counts over what they
        may see (see :func:`retrieval.caller_stats.caller_stats`)."""
        if groups is None:
            return snapshot_stats(self.snapshot())
        return caller_stats(self.snapshot(), groups, whole_index)

    def ask(
        self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k_experts: int = 3,
        searcher: Searcher | None = None, asker: str | None = None,
    ) -> Answer:
        """A cited answer from what ``groups`` may see (by :attr:`answerer`), with who to ask
        (never ``asker``, the asking member's id), from ``searcher`` (a pinned one) or the
        current snapshot.

        The result is structured (text, citations, confidence, abstained, closest documents,
        experts); :func:`retrieval.answer.worded` words it for a reader."""
        searcher = searcher or self.searcher()
        hits, evidence = self._evidence(question, filters, groups, searcher)
        snapshot = searcher.snapshot
        answer = self.answerer.answer(evidence)
        if answer.confidence >= WHO_TO_ASK_FROM and k_experts > 0:
            answer.experts = suggest_experts(hits, snapshot.catalog, k=k_experts, groups=groups,
                                             stats=self.member_stats(searcher, groups),
                                             question=searcher.question_vector(question), asker=asker)
        return answer

    def _evidence(
        self, question: str, filters: Filters | None, groups: tuple[str, ...], searcher: Searcher
    ) -> tuple[list[Hit], Evidence]:
        """The hits an answer and its experts come from (``EXPERT_HITS`` chunks, not collapsed)
        and the answerer's evidence: the best ``ANSWER_HITS`` plus the rest as ``further``."""
        hits = searcher.search(question, k=EXPERT_HITS, filters=filters, groups=groups, collapse=False)
        snapshot = searcher.snapshot
        evidence = Evidence(question, hits[:ANSWER_HITS], self.embedder, snapshot.catalog, snapshot.lexical, groups,
                            further=hits[ANSWER_HITS:])
        return hits, evidence

    def ask_draft(
        self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k_experts: int = 3,
        searcher: Searcher | None = None, asker: str | None = None,
    ) -> Draft:
        """:meth:`ask` for streaming: everything that reads the snapshot (hits, the fallback
        answer, experts) is done before this returns; the :class:`Draft` then streams the
        checked sentences of a written answer (none without a writer model) and gives the
        final answer, experts included."""
        searcher = searcher or self.searcher()
        hits, evidence = self._evidence(question, filters, groups, searcher)
        snapshot = searcher.snapshot
        draft = draft_of(self.answerer, evidence)
        if draft.confidence >= WHO_TO_ASK_FROM and k_experts > 0:
            draft.experts = suggest_experts(hits, snapshot.catalog, k=k_experts, groups=groups,
                                            stats=self.member_stats(searcher, groups),
                                            question=searcher.question_vector(question), asker=asker)
        return draft

    def experts(
        self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k: int = 5,
        searcher: Searcher | None = None, asker: str | None = None,
    ) -> list[Expert]:
        """Members to ask about ``question``, on evidence ``groups`` may see, never ``asker``
        (the asking member's id; see :func:`find_experts`)."""
        searcher = searcher or self.searcher()
        return find_experts(searcher, question, filters=filters, groups=groups, k=k,
                            stats=self.member_stats(searcher, groups), asker=asker)

    def member_stats(self, searcher: Searcher, groups: tuple[str, ...]) -> MemberStats:
        """Member facts of ``searcher``'s snapshot as ``groups`` may see them, kept between
        requests (a snapshot never changes; a new one starts afresh)."""
        key = (searcher.snapshot.name, tuple(sorted(set(groups))))
        with self._lock:
            stats = self._member_stats.get(key)
            if stats is None:
                stats = self._member_stats[key] = MemberStats(searcher.snapshot.catalog, key[1],
                                                              searcher.snapshot.vectors)
                while len(self._member_stats) > MEMBER_STATS_KEPT:
                    self._member_stats.popitem(last=False)
            else:
                self._member_stats.move_to_end(key)
            for older in list(self._member_stats.values())[:-PROFILES_KEPT]:  # least recently used first
                if older.profiles is not None:
                    older.profiles.clear()
        return stats


class Pinned:
    """One snapshot of a :class:`Library`, held for one request: the library's read methods,
    all answering from that snapshot."""

    def __init__(self, library: Library, searcher: Searcher) -> None:
        self.library, self._searcher = library, searcher
        self.embedder = library.embedder

    def snapshot(self) -> Snapshot:
        """The pinned snapshot."""
        return self._searcher.snapshot

    def searcher(self) -> Searcher:
        """A searcher over the pinned snapshot."""
        return self._searcher

    def stats(self, groups: tuple[str, ...] | None = None, whole_index: bool = True) -> dict[str, Any]:
        """See :meth:`Library.stats` (over the pinned snapshot)."""
        if groups is None:
            return snapshot_stats(self._searcher.snapshot)
        return caller_stats(self._searcher.snapshot, groups, whole_index)

    def ask(self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (),
            k_experts: int = 3, asker: str | None = None) -> Answer:
        """See :meth:`Library.ask`."""
        return self.library.ask(question, filters, groups, k_experts, searcher=self._searcher, asker=asker)

    def ask_draft(self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (),
                  k_experts: int = 3, asker: str | None = None) -> Draft:
        """See :meth:`Library.ask_draft`."""
        return self.library.ask_draft(question, filters, groups, k_experts, searcher=self._searcher, asker=asker)

    def experts(self, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (),
                k: int = 5, asker: str | None = None) -> list[Expert]:
        """See :meth:`Library.experts`."""
        return self.library.experts(question, filters, groups, k, searcher=self._searcher, asker=asker)
