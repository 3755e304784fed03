"""Expert finding: Balog, Azzopardi & de Rijke's model 2 (document-centric) with priors.

For a question, the candidates are the contributors of the retrieved documents (every
contributor of a retrieved thread, not only the authors of the retrieved chunks). Each gets:

- *evidence* (model 2): a sum over the retrieved documents of the document's relevance (the
  dense similarity of its best retrieved chunk above chance level) times the member's
  association with it (their strongest contribution there: role accepted > answer > question,
  resource authors count as answerers, plus a bonus for the post's score) times its recency;
- a *track record* (:mod:`retrieval.experts_members`): answers, accepted answers, received
  score, documents contributed to, and recent activity;
- a *profile* (:mod:`retrieval.experts_profiles`, when the question's vector is given): the
  cosine of the question to everything they answered, and how many of their answers carry
  the tags of the retrieved documents;

and the two are combined by :func:`retrieval.experts_model.combine` with an
:class:`~retrieval.experts_model.ExpertWeights`.

Clock (:mod:`retrieval.experts_clock`): recency and recent activity are measured from
``now`` when the caller gives one (evaluation: the question's date) or from the latest
activity the asker may see, whichever is earlier
(:meth:`~retrieval.experts_members.MemberStats.reference`: a question asked after an index's
last activity is measured from that last day, as serving it would be), and from the latest
activity the asker may see when there is no ``now`` (serving), never after the wall clock
(a post dated in the future is a wrong clock, see :mod:`retrieval.experts_clock`); on undated
data recency is neutral and volume stands in for recent activity. Contributions after the
clock are ignored.

Visibility: the hits are already restricted to what the asker may see, and every other fact
read here (thread contributors, track records, the clock) comes only from documents
``groups`` may see (the catalog applies the visibility rule). Members who opted out are never
suggested.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from retrieval.experts_clock import Clock, decay, epoch_days
from retrieval.experts_members import MemberFacts, MemberStats
from retrieval.experts_model import DEFAULT_WEIGHTS, ExpertWeights, Features, combine, relevance
from retrieval.experts_profiles import Profile, question_tags, tag_score
from retrieval.experts_why import Why, topic_of
from retrieval.filters import Filters
from retrieval.records import ANSWER_ROLES
from retrieval.search import Hit
from retrieval.storage import Catalog

log = logging.getLogger(__name__)

EXPERT_HITS = 100
"""Chunk-level hits behind expert suggestions. Every contributor of a retrieved thread is credited,
so going deeper (300) added nothing on the cardano time split and would double search time."""
MAX_EVIDENCE = 3

__all__ = ["EXPERT_HITS", "Evidence", "Expert", "MemberStats", "find_experts", "suggest_experts"]


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
    """A suggested member, with the evidence behind the suggestion (best first) and why."""

    member_id: str
    name: str
    score: float
    evidence: list[Evidence]
    why: Why | None = None


@dataclass
class Candidate:
    """A contributor of the retrieved documents with everything the ranking knows."""

    member_id: str
    facts: MemberFacts
    evidence: list[Evidence]
    """One record per retrieved document they contributed to, best first."""
    features: Features


@dataclass
class Contribution:
    """A member's post (or authorship) in a document."""

    member: str
    role: str
    post_id: str | None
    created_at: str | None
    post_score: int = 0


def role_of(hit: Hit) -> str:
    """The authorship role (``accepted``/``answer``/``question``/``comment``/``author``) of a
    hit's author, from the hit's label (:data:`retrieval.search.HIT_ROLES`)."""
    if hit.kind == "resource":
        return "author"
    if hit.role in ("question", "comment"):
        return hit.role
    return "accepted" if hit.accepted else "answer"


def association(role: str, post_score: int, weights: ExpertWeights) -> float:
    """How strongly a contributor is associated with a document, from role and post score."""
    weight = weights.role(role)
    if role in ("answer", "accepted") and post_score > 0:
        weight += weights.score_bonus * math.log1p(post_score)
    return weight


def contributors(catalog: Catalog, hits: list[Hit], groups: tuple[str, ...]) -> dict[str, list[Contribution]]:
    """Every contribution to the documents of ``hits``, with its role as stored at ingest
    (:func:`retrieval.records.post_role`); a hit whose post has no stored authorship adds its
    own author (so hits are evidence even where authorship is incomplete). The documents are
    the hits', which the asker may see, so all their contributors may be shown."""
    found: dict[str, list[Contribution]] = {}
    known: set[str | None] = set()
    for c in catalog.contributions({h.doc_id for h in hits}, groups):
        found.setdefault(c.doc_id, []).append(Contribution(c.member_id, c.role, c.post_id, c.created_at, c.score))
        known.add(c.post_id)
    for hit in hits:
        if hit.author and (hit.post_id is None or hit.post_id not in known):
            found.setdefault(hit.doc_id, []).append(
                Contribution(hit.author, role_of(hit), hit.post_id, hit.created_at, hit.post_score))
    return found


def best_hits(hits: list[Hit], weights: ExpertWeights) -> dict[str, Hit]:
    """Each retrieved document's best chunk above chance level (``weights.min_similarity``)."""
    best: dict[str, Hit] = {}
    for hit in hits:
        if hit.similarity > weights.min_similarity and (hit.doc_id not in best
                                                         or hit.similarity > best[hit.doc_id].similarity):
            best[hit.doc_id] = hit
    return best


def evidence_by_member(
    hits: list[Hit], catalog: Catalog, clock: Clock, groups: tuple[str, ...] = (),
    weights: ExpertWeights = DEFAULT_WEIGHTS,
) -> dict[str, list[Evidence]]:
    """Each member's evidence: one record per retrieved document they contributed to (their
    strongest contribution there), credited relevance x association x recency on ``clock``.
    Contributions after the clock had not happened yet and are no evidence. Relevance and
    recency are computed for all contributions at once (:func:`relevance`, :func:`decay`)."""
    best = best_hits(hits, weights)
    found_in = contributors(catalog, [h for h in hits if h.doc_id in best], groups)
    flat = [(doc_id, c) for doc_id, contributions in found_in.items() for c in contributions
            if clock.happened(c.created_at)]
    if not flat:
        return {}
    similarity = np.array([best[doc_id].similarity for doc_id, _ in flat])
    ages = clock.ages(np.array([epoch_days(c.created_at) for _, c in flat]))
    credits = (relevance(similarity, weights.min_similarity) * decay(ages, weights.half_life_days)
               * np.array([association(c.role, c.post_score, weights) for _, c in flat])).tolist()
    strongest: dict[tuple[str, str], tuple[float, Contribution]] = {}
    for (doc_id, c), credit in zip(flat, credits, strict=True):
        key = (c.member, doc_id)
        if key not in strongest or credit > strongest[key][0]:
            strongest[key] = (credit, c)
    found: dict[str, list[Evidence]] = {}
    for (member, doc_id), (credit, c) in strongest.items():
        top = best[doc_id]
        found.setdefault(member, []).append(Evidence(
            doc_id=doc_id, title=top.title, post_id=c.post_id, role=c.role, created_at=c.created_at,
            url=top.url, relevance=round(top.similarity, 4), score=round(credit, 6),
        ))
    for records in found.values():
        records.sort(key=lambda e: (-e.score, e.doc_id))
    return found


def candidates(
    hits: list[Hit], catalog: Catalog, clock: Clock, groups: tuple[str, ...], stats: MemberStats,
    weights: ExpertWeights = DEFAULT_WEIGHTS, question: np.ndarray | None = None,
) -> list[Candidate]:
    """Every contributor of the retrieved documents with positive evidence and, when there is
    any, the leading answerers on ``clock`` (``weights.prior_candidates`` all-time and in the
    activity window, ``weights.recent_candidates`` lately; see
    :meth:`retrieval.experts_members.MemberStats.leaders`) and the members whose profiles are
    closest to ``question`` (its unit vector, shape (d,); ``weights.profile_candidates``) with
    or without evidence; opted-out members left out; with their features on ``clock`` (any
    order). Profile features are 0 without ``question`` or without ``stats.profiles``.
    ``clock`` is first moved to :meth:`retrieval.experts_members.MemberStats.reference` (the
    index's last visible activity when the question is later than it)."""
    clock = stats.reference(clock)
    evidence = {m: r for m, r in evidence_by_member(hits, catalog, clock, groups, weights).items()
                if sum(e.score for e in r) > 0}
    profiles = stats.profiles if question is not None else None
    if evidence and (weights.prior_candidates > 0 or weights.recent_candidates > 0):
        for member in stats.leaders(clock, weights):
            evidence.setdefault(member, [])
    if evidence and profiles is not None and question is not None and weights.profile_candidates > 0:
        for member in profiles.closest(question, weights.profile_candidates, weights.min_similarity,
                                       clock, weights.half_life_days):
            evidence.setdefault(member, [])
    facts = stats.get(sorted(evidence))
    found = []
    shown_hits = list(best_hits(hits, weights).values())
    shown = list(zip(relevance(np.array([h.similarity for h in shown_hits]), weights.min_similarity).tolist(),
                     (tuple(h.tags) for h in shown_hits), strict=True))
    tags = question_tags(shown)
    known = profiles.get(sorted(evidence)) if profiles is not None else {}
    for member, records in evidence.items():
        fact = facts[member]
        if fact.opt_out:
            continue
        record, profile = fact.record(clock), known.get(member)
        features = Features(sum(e.score for e in records), record.answers, record.accepted, record.received,
                            fact.recent(clock, weights), record.documents,
                            *profile_features(profile, question, tags, clock, weights),
                            newcomer=fact.newcomer(clock, weights), idle=fact.idle(clock, weights))
        found.append(Candidate(member, fact, records, features))
    return found


def profile_features(profile: Profile | None, question: np.ndarray | None, tags: dict[str, float], clock: Clock,
                     weights: ExpertWeights) -> tuple[float, float, float, float]:
    """A candidate's (profile cosine, history evidence decayed on ``clock`` with the evidence
    and with the activity half-life, tag score); zeros when not profiled."""
    if profile is None or question is None:
        return 0.0, 0.0, 0.0, 0.0
    floor = weights.min_similarity
    return (float(profile.vector @ question), profile.history(question, floor, clock, weights.half_life_days),
            profile.history(question, floor, clock, weights.activity_half_life_days), tag_score(profile, tags))


def explain(candidate: Candidate, clock: Clock, tags: dict[str, list[str]]) -> Why:
    """The numbers behind a suggestion (see :class:`retrieval.experts_why.Why`)."""
    records, record = candidate.evidence, candidate.facts.record(clock)
    answered = [e for e in records if e.role in ANSWER_ROLES]
    dates = [e.created_at for e in records if e.created_at]
    topic, topic_count = topic_of([e.doc_id for e in (answered or records)], tags)
    return Why(
        topic=topic, topic_count=topic_count, answered=len(answered),
        accepted=sum(e.role == "accepted" for e in records), asked=sum(e.role == "question" for e in records),
        commented=sum(e.role == "comment" for e in records),
        related_last=max(dates) if dates else None, answers_total=record.answers,
        accepted_total=record.accepted, last_active=record.last,
    )


def suggest_experts(
    hits: list[Hit], catalog: Catalog, k: int = 5, now: datetime | None = None, groups: tuple[str, ...] = (),
    stats: MemberStats | None = None, weights: ExpertWeights = DEFAULT_WEIGHTS, question: np.ndarray | None = None,
    asker: str | None = None,
) -> list[Expert]:
    """Rank the contributors of the documents in ``hits`` as experts on the question.

    Args:
        hits: chunk-level hits (``collapse=False``, :data:`EXPERT_HITS` of them), already
            restricted to what the asker may see.
        catalog: the catalog of the snapshot the hits came from.
        k: how many experts to return.
        now: the question's moment (evaluation: its date); measured from the earlier of it
            and the latest activity ``groups`` may see; default: that latest activity
            (:func:`retrieval.experts_clock.serving_clock`), never the wall clock.
            Contributions after it are ignored.
        groups: the asker's groups; contributors and track records are read only from
            documents these groups may see (default: public documents only).
        stats: member facts of this snapshot for ``groups``, kept between calls (default: read afresh).
        weights: how features combine (default: the cross-site tuned :data:`DEFAULT_WEIGHTS`).
        question: the question's unit vector, shape (d,) (as the hits' similarities were
            computed with); with ``stats.profiles``, members are also compared with it through
            their profiles. Without it, profile features are 0.
        asker: the member id of who asks (the API: the key's name, as keys are named after
            member ids), never suggested to themself.

    Returns:
        Up to ``k`` experts, best first (ties by member id), each with up to
        :data:`MAX_EVIDENCE` evidence records (best first) and the numbers of :class:`Why`;
        members who opted out, and ``asker``, are never included.
    """
    stats = stats or MemberStats(catalog, groups)
    clock = stats.reference(Clock(now)) if now is not None else stats.clock()
    found = [c for c in candidates(hits, catalog, clock, groups, stats, weights, question) if c.member_id != asker]
    scored = sorted(((round(combine(c.features, weights), 4), c) for c in found),
                    key=lambda sc: (-sc[0], sc[1].member_id))[:k]
    tags = {h.doc_id: list(h.tags) for h in hits}
    return [Expert(member_id=c.member_id, name=c.facts.name, score=score, evidence=c.evidence[:MAX_EVIDENCE],
                   why=explain(c, clock, tags)) for score, c in scored]


def find_experts(
    searcher: Any, question: str, filters: Filters | None = None, groups: tuple[str, ...] = (), k: int = 5,
    now: datetime | None = None, mode: str = "hybrid", stats: MemberStats | None = None,
    weights: ExpertWeights = DEFAULT_WEIGHTS, asker: str | None = None,
) -> list[Expert]:
    """Search ``question`` for :data:`EXPERT_HITS` chunks ``groups`` may see and rank their
    contributors other than ``asker`` (see :func:`suggest_experts`); ``searcher`` is a
    :class:`retrieval.search.Searcher`."""
    hits = searcher.search(question, k=EXPERT_HITS, filters=filters, groups=groups, collapse=False, mode=mode)
    stats = stats or MemberStats(searcher.snapshot.catalog, groups, searcher.snapshot.vectors)
    return suggest_experts(hits, searcher.snapshot.catalog, k=k, now=now, groups=groups, stats=stats,
                           weights=weights, question=searcher.question_vector(question), asker=asker)
