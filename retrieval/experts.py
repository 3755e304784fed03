"""Expert finding, document-centric (Balog, Azzopardi & de Rijke 2006, model 2), with a prior.

A member's score for a question is ``p(q|ca) * p(ca)``:

- ``p(q|ca)``, the evidence: a sum over the retrieved documents (threads, resources) of the
  document's relevance to the question times the member's association with it. Relevance
  comes from the dense similarity of the document's best retrieved chunk, measured above
  chance level (:data:`MIN_SIMILARITY` counts 0, a perfect match 1). Association comes from
  the index's authorship (every contributor of a retrieved thread, not only the authors of
  the retrieved chunks): role (accepted answer > answer > question; resource authors count as
  answerers), the post's score, and a slow recency decay (:data:`HALF_LIFE_DAYS`). A member
  counts once per document, and the sum is divided by a mild sublinear function of how many
  documents they contributed to, so volume alone does not win.
- ``p(ca)``, the prior: how active the member has been lately — their contributions weighted
  by role and decayed with a short half-life (:data:`ACTIVITY_HALF_LIFE_DAYS`), plus one
  pseudo-contribution so that quiet members are not ruled out. Members who answered recently
  are the ones likely to answer again.

Visibility: the hits are already restricted to what the asker may see, and every other fact
read here (thread contributors, activity, volume) comes only from documents ``groups`` may
see (the catalog applies the visibility rule). Members who opted out are never suggested.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from retrieval.filters import Filters
from retrieval.records import parse_iso, to_iso
from retrieval.search import Hit
from retrieval.storage import Catalog

log = logging.getLogger(__name__)

EXPERT_HITS = 100
"""Chunk-level hits behind expert suggestions. Every contributor of a retrieved thread is credited,
so going deeper (300) added nothing on the cardano time split and would double search time."""
ROLE_WEIGHTS = {"accepted": 2.0, "answer": 1.0, "author": 1.0, "question": 0.25}
SCORE_BONUS = 0.15
"""Extra weight per log-unit of a post's score (reactions/votes), on answers only."""
HALF_LIFE_DAYS = 365.0
"""Evidence decays slowly: what someone knew a year ago still counts half."""
ACTIVITY_HALF_LIFE_DAYS = 30.0
"""The prior decays fast: it says who is around now, not who knows."""
ACTIVITY_WINDOW_DAYS = 8 * ACTIVITY_HALF_LIFE_DAYS
"""Contributions older than this (weight < 0.4%) are not read for the prior."""
ACTIVITY_PSEUDO_COUNT = 1.0
"""Smoothing of the prior: p(ca) is proportional to this plus the decayed activity."""
VOLUME_EXPONENT = 0.1
"""Evidence is divided by (1 + documents contributed to) ** VOLUME_EXPONENT. Kept mild: on a
Stack Exchange time split (cardano) stronger normalisation cost a lot of MRR."""
MIN_SIMILARITY = 0.3
"""Cosine similarity of chance level for the embedder: no evidence at or below it."""
MAX_EVIDENCE = 3


@dataclass
class Evidence:
    """A document where the member helped: thread (with their post) or resource."""

    doc_id: str
    title: str
    post_id: str | None
    role: str
    created_at: str | None
    url: str
    relevance: float
    """Similarity to the question of the document's best retrieved chunk."""
    score: float = 0.0
    """What this document added to the member's evidence (relevance x association x recency)."""


@dataclass
class Expert:
    """A suggested member, with the evidence behind the suggestion (best first)."""

    member_id: str
    name: str
    score: float
    evidence: list[Evidence]


@dataclass
class Contribution:
    """A member's post (or authorship) in a document."""

    member: str
    role: str
    post_id: str | None
    created_at: str | None
    post_score: int = 0


def role_of(hit: Hit) -> str:
    """The authorship role (``accepted``/``answer``/``question``/``author``) of a hit's author."""
    if hit.kind == "resource":
        return "author"
    return "question" if hit.role == "question" else "accepted" if hit.accepted else "answer"


def association(role: str, post_score: int = 0) -> float:
    """How strongly a contributor is associated with a document, from role and post score."""
    weight = ROLE_WEIGHTS[role]
    if role in ("answer", "accepted") and post_score > 0:
        weight += SCORE_BONUS * math.log1p(post_score)
    return weight


def recency(created_at: str | None, now: datetime, half_life: float = HALF_LIFE_DAYS) -> float:
    """Exponential decay with ``half_life`` days (1.0 when undated or in the future)."""
    if not created_at:
        return 1.0
    age_days = max((now - parse_iso(created_at)).total_seconds() / 86400.0, 0.0)
    return 0.5 ** (age_days / half_life)


def relevance(similarity: float) -> float:
    """Relevance from a cosine similarity: 0 at chance level (:data:`MIN_SIMILARITY`), 1 at 1."""
    return max(similarity - MIN_SIMILARITY, 0.0) / (1.0 - MIN_SIMILARITY)


def contributors(catalog: Catalog, hits: list[Hit], groups: tuple[str, ...]) -> dict[str, list[Contribution]]:
    """Every contribution to the documents of ``hits``: their authorship, and the hits' own
    authors (so hits are evidence even where authorship is incomplete). The documents are
    the hits', which the asker may see, so all their contributors may be shown."""
    found: dict[str, list[Contribution]] = {}
    for hit in hits:
        if hit.author:
            found.setdefault(hit.doc_id, []).append(
                Contribution(hit.author, role_of(hit), hit.post_id, hit.created_at, hit.post_score))
    for c in catalog.contributions({h.doc_id for h in hits}, groups):
        found.setdefault(c.doc_id, []).append(Contribution(c.member_id, c.role, c.post_id, c.created_at, c.score))
    return found


@dataclass
class MemberFacts:
    """What the prior and the volume normalisation need to know about one member."""

    name: str
    opt_out: bool
    dates: list[str]
    """Dates of the member's dated contributions, sorted."""
    weights: list[float]
    """Role weight of each contribution in :attr:`dates`."""
    first: list[str]
    """Per document contributed to: the date of the first contribution ('' when undated), sorted."""

    def volume(self, now: datetime) -> int:
        """Documents contributed to before ``now``, undated ones included."""
        return bisect_left(self.first, to_iso(now) or "")

    def activity(self, now: datetime) -> float:
        """Contributions in the :data:`ACTIVITY_WINDOW_DAYS` before ``now``, weighted by role
        and decayed with :data:`ACTIVITY_HALF_LIFE_DAYS`."""
        lo = bisect_left(self.dates, to_iso(now - timedelta(days=ACTIVITY_WINDOW_DAYS)) or "")
        hi = bisect_left(self.dates, to_iso(now) or "")
        return sum(self.weights[i] * recency(self.dates[i], now, ACTIVITY_HALF_LIFE_DAYS) for i in range(lo, hi))


class MemberStats:
    """Member facts read from one snapshot's catalog, only from documents ``groups`` may see.

    Members are read on first use and kept, so reuse one instance per immutable snapshot and
    group set (as :class:`retrieval.library.Library` does); a fresh one reads afresh.
    """

    def __init__(self, catalog: Catalog, groups: tuple[str, ...] = ()) -> None:
        self.catalog, self.groups = catalog, groups
        self.known: dict[str, MemberFacts] = {}

    def get(self, ids: list[str]) -> dict[str, MemberFacts]:
        """Facts of each member in ``ids`` (unknown ids: named by their id, no contributions)."""
        missing = sorted(set(ids) - self.known.keys())
        if missing:
            members = self.catalog.members(missing)
            rows: dict[str, list[tuple[str, str, str]]] = {m: [] for m in missing}
            for c in self.catalog.member_contributions(missing, self.groups):
                rows[c.member_id].append((c.created_at or "", c.role, c.doc_id))
            for member in missing:
                contributions = sorted(c for c in rows[member] if c[0])
                first: dict[str, str] = {}
                for created, _, doc_id in sorted(rows[member]):
                    first.setdefault(doc_id, created)
                known = members.get(member)
                self.known[member] = MemberFacts(
                    known.name if known else member, known.opt_out if known else False,
                    dates=[c[0] for c in contributions], weights=[ROLE_WEIGHTS.get(c[1], 1.0) for c in contributions],
                    first=sorted(first.values()),
                )
        return {m: self.known[m] for m in ids}


def evidence_by_member(
    hits: list[Hit], catalog: Catalog, now: datetime, groups: tuple[str, ...] = (),
) -> dict[str, list[Evidence]]:
    """Each member's evidence: one record per retrieved document they contributed to (their
    strongest contribution there), credited relevance x association x recency. Contributions
    dated after ``now`` had not happened yet and are no evidence."""
    until = to_iso(now) or ""
    best: dict[str, Hit] = {}
    for hit in hits:
        if relevance(hit.similarity) > 0 and (hit.doc_id not in best or hit.similarity > best[hit.doc_id].similarity):
            best[hit.doc_id] = hit
    found: dict[str, list[Evidence]] = {}
    for doc_id, contributions in contributors(catalog, [h for h in hits if h.doc_id in best], groups).items():
        top, rel = best[doc_id], relevance(best[doc_id].similarity)
        strongest: dict[str, tuple[float, Contribution]] = {}
        for c in contributions:
            if c.created_at and c.created_at > until:
                continue
            credit = rel * association(c.role, c.post_score) * recency(c.created_at, now)
            if c.member not in strongest or credit > strongest[c.member][0]:
                strongest[c.member] = (credit, c)
        for member, (credit, c) in strongest.items():
            found.setdefault(member, []).append(Evidence(
                doc_id=doc_id, title=top.title, post_id=c.post_id, role=c.role, created_at=c.created_at,
                url=top.url, relevance=round(top.similarity, 4), score=round(credit, 4),
            ))
    return found


def suggest_experts(
    hits: list[Hit], catalog: Catalog, k: int = 5, now: datetime | None = None, groups: tuple[str, ...] = (),
    stats: MemberStats | None = None,
) -> list[Expert]:
    """Rank the contributors of the documents in ``hits`` as experts on the question.

    Args:
        hits: chunk-level hits (``collapse=False``, :data:`EXPERT_HITS` of them), already
            restricted to what the asker may see.
        catalog: the catalog of the snapshot the hits came from.
        k: how many experts to return.
        now: the moment recency and activity are measured from (default: the current time);
            contributions after it are ignored.
        groups: the asker's groups; contributors, activity and volume are read only from
            documents these groups may see (default: public documents only).
        stats: member facts of this snapshot for ``groups``, kept between calls (default: read afresh).

    Returns:
        Up to ``k`` experts, best first, each with up to :data:`MAX_EVIDENCE` evidence records
        (best first); members who opted out are never included.
    """
    now = now or datetime.now(UTC)
    stats = stats or MemberStats(catalog, groups)
    evidence = evidence_by_member(hits, catalog, now, groups)
    facts = stats.get(sorted(evidence))
    experts = []
    for member, records in evidence.items():
        fact, total = facts[member], sum(e.score for e in records)
        if fact.opt_out or total <= 0:
            continue
        score = total / (1 + fact.volume(now)) ** VOLUME_EXPONENT
        score *= ACTIVITY_PSEUDO_COUNT + fact.activity(now)
        records.sort(key=lambda e: (-e.score, e.doc_id))
        experts.append(Expert(member_id=member, name=fact.name, score=round(score, 4), evidence=records[:MAX_EVIDENCE]))
    experts.sort(key=lambda e: (-e.score, e.member_id))
    return experts[:k]


def find_experts(
    searcher: Any, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k: int = 5,
    now: datetime | None = None, mode: str = "hybrid", stats: MemberStats | None = None,
) -> list[Expert]:
    """Search ``question`` for :data:`EXPERT_HITS` chunks ``groups`` may see and rank their
    contributors (see :func:`suggest_experts`); ``searcher`` is a :class:`retrieval.search.Searcher`."""
    hits = searcher.search(question, k=EXPERT_HITS, filters=filters, groups=groups, collapse=False, mode=mode)
    return suggest_experts(hits, searcher.snapshot.catalog, k=k, now=now, groups=groups, stats=stats)
