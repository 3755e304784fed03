"""Members' topical profiles: what each answerer has answered, as one vector and a tag count.

Model 2 (:func:`retrieval.experts.evidence_by_member`) only reaches the contributors of the
threads a question retrieves; on a time split a third of later questions go to people those
threads never reach. A *profile* (Balog's model 1 in spirit: the member as one pseudo-document)
reaches them: each member's answered documents are represented by their first chunk (title and
the question asked, which is what a new question resembles; on sites that export no answer
texts it is all there is), and the member's profile is the normalised mean of those vectors.
A question is compared with every leading answerer's answered documents (model 2 over their
whole history, :meth:`Profile.history`), so the members whose history holds most relevant
answers are candidates even when none of their threads was retrieved; the cosine to the
profile's mean vector is a feature too.

Tags: each member's answered documents' tags are counted; a question's tags are inferred from
its retrieved documents (relevance-weighted), and :meth:`MemberProfiles.tag_score` is the
member's expected number of answers carrying them.

What is read: only documents ``groups`` may see (the catalog applies the visibility rule; the
vectors are those documents' chunks), and only answering roles (answers, accepted answers,
resources authored). Clock: profiles are built from everything visible in the snapshot; in
serving that all precedes the serving clock, and the evaluation indexes only what came
before its questions. Cost: one pass over the leading :data:`PROFILE_MEMBERS` answerers'
latest :data:`PROFILE_DOCUMENTS` answered documents per snapshot and group set (members
outside them are profiled on demand), then one matrix-vector product per question. Memory:
at most ``PROFILE_MEMBERS x PROFILE_DOCUMENTS`` vectors in float16 (77 MB at 384 dimensions)
per group set, plus their float32 stack.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from retrieval.records import ANSWER_ROLES, parse_iso
from retrieval.storage import Catalog, VectorIndex
from retrieval.views import ContributionInfo, Groups

PROFILE_MEMBERS = 1000
"""The leading answerers (all-time answers) profiled up front and compared with every question."""
PROFILE_DOCUMENTS = 100
"""At most this many of a member's latest answered documents make their profile vectors (their
tags are counted over all)."""
QUESTION_TAG_DOCUMENTS = 20
"""A question's tags are inferred from its best-retrieved documents, this many."""


@dataclass
class Profile:
    """One member's profile: their latest answered documents' vectors and dates, the vectors'
    unit mean, and the tags of everything they answered."""

    vector: np.ndarray
    """Normalised mean of :attr:`documents`, shape (d,) (zeros when nothing is answered)."""
    documents: np.ndarray
    """First-chunk vectors of their latest answered documents, shape (n, d), float16 (memory)."""
    days: np.ndarray
    """When they answered each of :attr:`documents`, in days since the epoch (NaN: undated)."""
    tags: Counter[str] = field(default_factory=Counter)

    def history(self, question: np.ndarray, floor: float, now: float | None, half_life_days: float) -> float:
        """Model 2 over everything they answered: the summed relevance of their answered
        documents to ``question`` (cosine above ``floor``, scaled to 1 at cosine 1), each
        decayed by its age at ``now`` (days since the epoch; None: undated clock, no decay)."""
        if not len(self.documents):
            return 0.0
        similarity = self.documents.astype(np.float32) @ question
        return float((relevance(similarity, floor) * decay(self.days, now, half_life_days)).sum())


def relevance(similarity: np.ndarray, floor: float) -> np.ndarray:
    """Relevance from cosine similarities: 0 at or below ``floor``, 1 at 1 (as
    :func:`retrieval.experts.relevance`)."""
    return np.maximum(similarity - floor, 0.0) / (1.0 - floor)


def decay(days: np.ndarray, now: float | None, half_life_days: float) -> np.ndarray | float:
    """Exponential decay of contributions dated ``days`` at ``now`` (as
    :meth:`retrieval.experts_clock.Clock.recency`: 1 when undated, on an undated clock, for an
    infinite half-life and for the future)."""
    if now is None or half_life_days == float("inf"):
        return 1.0
    age = np.maximum(now - days, 0.0)
    return np.where(np.isnan(days), 1.0, 0.5 ** (age / half_life_days))


def epoch_days(created_at: str | None) -> float:
    """An ISO date as days since the epoch (NaN when undated)."""
    return parse_iso(created_at).timestamp() / 86400.0 if created_at else float("nan")


class MemberProfiles:
    """Profiles of one snapshot's members as ``groups`` may see them; built on first use and
    kept, so keep one per immutable snapshot and group set (as :class:`MemberStats` does)."""

    def __init__(self, catalog: Catalog, vectors: VectorIndex, groups: Groups = ()) -> None:
        self.catalog, self.vectors, self.groups = catalog, vectors, groups
        self.known: dict[str, Profile] = {}
        self._leaders: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None

    def leaders(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The profiled leading answerers, all their answered documents' vectors stacked,
        shape (n, d), those documents' dates (days, shape (n,)) and each row's owner (an index
        into the members, shape (n,))."""
        if self._leaders is None:
            ids = [m for m, _ in self.catalog.top_answerers(self.groups, PROFILE_MEMBERS)]
            found = [self.get(ids)[m] for m in ids]
            stacked = (np.concatenate([p.documents for p in found]).astype(np.float32) if ids
                       else np.zeros((0, self.vectors.dimension), np.float32))
            days = np.concatenate([p.days for p in found]) if ids else np.zeros(0)
            owners = np.repeat(np.arange(len(ids)), [len(p.days) for p in found])
            self._leaders = (ids, stacked, days, owners)
        return self._leaders

    def closest(self, question: np.ndarray, n: int, floor: float, now: float | None = None,
                half_life_days: float = float("inf")) -> list[str]:
        """The ``n`` leading answerers with the highest :meth:`Profile.history` for
        ``question`` (a unit vector, shape (d,)), best first (ties by member id); members
        with no relevant answered document are left out."""
        ids, stacked, days, owners = self.leaders()
        if not ids or n <= 0:
            return []
        credit = relevance(stacked @ question, floor) * decay(days, now, half_life_days)
        scores = np.bincount(owners, weights=credit, minlength=len(ids))
        order = np.lexsort((np.asarray(ids), -scores))[:n]  # best first, ties by member id
        return [ids[i] for i in order if scores[i] > 0]

    def get(self, ids: list[str]) -> dict[str, Profile]:
        """The profile of each member in ``ids`` (no visible answers: a zero vector, no tags)."""
        missing = sorted(set(ids) - self.known.keys())
        if missing:
            answered: dict[str, list[ContributionInfo]] = {m: [] for m in missing}
            for c in self.catalog.member_contributions(missing, self.groups):
                if c.role in ANSWER_ROLES:
                    answered[c.member_id].append(c)
            self.known.update(self._profiles({m: latest_documents(rows) for m, rows in answered.items()}))
        return {m: self.known[m] for m in ids}

    def _profiles(self, documents: dict[str, list[tuple[str, str | None]]]) -> dict[str, Profile]:
        """Profiles from each member's answered (document id, date), latest first: vectors of
        the first :data:`PROFILE_DOCUMENTS`, tags of all."""
        every = sorted({d for docs in documents.values() for d, _ in docs})
        tags = {d.id: d.tags for d in self.catalog.documents(every, self.groups).values()}
        latest = sorted({d for docs in documents.values() for d, _ in docs[:PROFILE_DOCUMENTS]})
        chunks = self.catalog.chunk_ids(latest, self.groups)
        order = sorted(d for d, ids in chunks.items() if ids)
        dimension = self.vectors.dimension
        matrix = (self.vectors.vectors([chunks[d][0] for d in order]) if order
                  else np.zeros((0, dimension), np.float32))
        row = {d: i for i, d in enumerate(order)}
        found = {}
        for member, docs in documents.items():
            kept = [(row[d], when) for d, when in docs[:PROFILE_DOCUMENTS] if d in row]
            rows = [r for r, _ in kept]
            mean = matrix[rows].mean(axis=0) if rows else np.zeros(dimension, dtype=np.float32)
            norm = float(np.linalg.norm(mean))
            vector = (mean / norm if norm > 0 else mean).astype(np.float32)
            found[member] = Profile(vector, matrix[rows].astype(np.float16),
                                    np.array([epoch_days(when) for _, when in kept], dtype=np.float64),
                                    Counter(t for d, _ in docs for t in tags.get(d, ())))
        return found


def latest_documents(rows: list[ContributionInfo]) -> list[tuple[str, str | None]]:
    """The documents of ``rows`` with the date of the member's latest answer there, latest
    first (undated last), without repeats."""
    ordered = sorted(rows, key=lambda c: (c.created_at or "", c.doc_id), reverse=True)
    latest: dict[str, str | None] = {}
    for c in ordered:
        latest.setdefault(c.doc_id, c.created_at)
    return list(latest.items())


def question_tags(weighted: list[tuple[float, tuple[str, ...]]]) -> dict[str, float]:
    """A question's tag distribution from its retrieved documents' (relevance, tags), the best
    :data:`QUESTION_TAG_DOCUMENTS` of them: each tag's share of the summed relevance."""
    best = sorted(weighted, key=lambda rt: -rt[0])[:QUESTION_TAG_DOCUMENTS]
    total = sum(r for r, _ in best)
    shares: dict[str, float] = {}
    if total <= 0:
        return shares
    for r, tags in best:
        for t in tags:
            shares[t] = shares.get(t, 0.0) + r / total
    return shares


def tag_score(profile: Profile, tags: dict[str, float]) -> float:
    """The member's expected number of answers carrying the question's tags:
    ``sum over tags of share(tag) x answered documents with that tag``."""
    return sum(share * profile.tags.get(t, 0) for t, share in tags.items())
