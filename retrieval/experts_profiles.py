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
at most ``PROFILE_MEMBERS x PROFILE_DOCUMENTS`` vectors in float16 (38 MB at 384 dimensions)
per group set, plus their float32 stack.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from retrieval.records import ANSWER_ROLES
from retrieval.storage import Catalog, VectorIndex
from retrieval.views import ContributionInfo, Groups

PROFILE_MEMBERS = 1000
"""The leading answerers (all-time answers) profiled up front and compared with every question."""
PROFILE_DOCUMENTS = 50
"""At most this many of a member's latest answered documents make their profile."""
QUESTION_TAG_DOCUMENTS = 20
"""A question's tags are inferred from its best-retrieved documents, this many."""


@dataclass
class Profile:
    """One member's profile: their answered documents' vectors, their unit mean, tag counts."""

    vector: np.ndarray
    """Normalised mean of :attr:`documents`, shape (d,) (zeros when nothing is answered)."""
    documents: np.ndarray
    """First-chunk vectors of their answered documents, shape (n, d), float16 (memory)."""
    tags: Counter[str] = field(default_factory=Counter)

    def history(self, question: np.ndarray, floor: float) -> float:
        """Model 2 over everything they answered: the summed relevance of their answered
        documents to ``question`` (cosine above ``floor``, scaled to 1 at cosine 1)."""
        if not len(self.documents):
            return 0.0
        return float(relevance(self.documents.astype(np.float32) @ question, floor).sum())


def relevance(similarity: np.ndarray, floor: float) -> np.ndarray:
    """Relevance from cosine similarities: 0 at or below ``floor``, 1 at 1 (as
    :func:`retrieval.experts.relevance`)."""
    return np.maximum(similarity - floor, 0.0) / (1.0 - floor)


class MemberProfiles:
    """Profiles of one snapshot's members as ``groups`` may see them; built on first use and
    kept, so keep one per immutable snapshot and group set (as :class:`MemberStats` does)."""

    def __init__(self, catalog: Catalog, vectors: VectorIndex, groups: Groups = ()) -> None:
        self.catalog, self.vectors, self.groups = catalog, vectors, groups
        self.known: dict[str, Profile] = {}
        self._leaders: tuple[list[str], np.ndarray, np.ndarray] | None = None

    def leaders(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The profiled leading answerers, all their answered documents' vectors stacked,
        shape (n, d), and each row's owner (an index into the members)."""
        if self._leaders is None:
            ids = [m for m, _ in self.catalog.top_answerers(self.groups, PROFILE_MEMBERS)]
            found = self.get(ids)
            blocks = [found[m].documents for m in ids]
            stacked = (np.concatenate(blocks).astype(np.float32) if blocks
                       else np.zeros((0, self.vectors.dimension), np.float32))
            owners = np.repeat(np.arange(len(ids)), [len(b) for b in blocks])
            self._leaders = (ids, stacked, owners)
        return self._leaders

    def closest(self, question: np.ndarray, n: int, floor: float) -> list[str]:
        """The ``n`` leading answerers with the highest :meth:`Profile.history` for
        ``question`` (a unit vector, shape (d,)), best first (ties by member id); members
        with no relevant answered document are left out."""
        ids, stacked, owners = self.leaders()
        if not ids or n <= 0:
            return []
        scores = np.bincount(owners, weights=relevance(stacked @ question, floor), minlength=len(ids))
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
            latest = {m: latest_documents(rows) for m, rows in answered.items()}
            self.known.update(self._profiles(latest))
        return {m: self.known[m] for m in ids}

    def _profiles(self, documents: dict[str, list[str]]) -> dict[str, Profile]:
        """Profiles from each member's answered document ids."""
        every = sorted({d for docs in documents.values() for d in docs})
        chunks = self.catalog.chunk_ids(every, self.groups)
        tags = {d.id: d.tags for d in self.catalog.documents(every, self.groups).values()}
        first = {d: ids[0] for d, ids in chunks.items() if ids}
        order = sorted(first)
        dimension = self.vectors.dimension
        matrix = self.vectors.vectors([first[d] for d in order]) if order else np.zeros((0, dimension), np.float32)
        row = {d: i for i, d in enumerate(order)}
        found = {}
        for member, docs in documents.items():
            rows = [row[d] for d in docs if d in row]
            mean = matrix[rows].mean(axis=0) if rows else np.zeros(dimension, dtype=np.float32)
            norm = float(np.linalg.norm(mean))
            vector = (mean / norm if norm > 0 else mean).astype(np.float32)
            found[member] = Profile(vector, matrix[rows].astype(np.float16),
                                    Counter(t for d in docs for t in tags.get(d, ())))
        return found


def latest_documents(rows: list[ContributionInfo]) -> list[str]:
    """The ids of the documents of ``rows``, latest first (undated last), at most
    :data:`PROFILE_DOCUMENTS`, without repeats."""
    ordered = sorted(rows, key=lambda c: (c.created_at or "", c.doc_id), reverse=True)
    return list(dict.fromkeys(c.doc_id for c in ordered))[:PROFILE_DOCUMENTS]


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
