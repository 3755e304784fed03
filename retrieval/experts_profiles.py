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
serving that all precedes the serving clock except posts dated after the wall clock, which
earn no credit (:func:`retrieval.experts_clock.credited`), and the evaluation indexes only
what came before its questions. Relevance and decay are the ones of model 2 over the retrieved
documents (:func:`retrieval.experts_model.relevance`, :func:`retrieval.experts_clock.decay`).

Cost: one pass over the leading :data:`PROFILE_MEMBERS` answerers' latest
:data:`PROFILE_DOCUMENTS` answered documents per snapshot and group set (members outside them
are profiled on demand), then one matrix-vector product per question over the *distinct*
documents they answered. Memory: those distinct documents' vectors once, float32 (profiles
hold row numbers into the shared matrix, not copies): at most ``PROFILE_MEMBERS x
PROFILE_DOCUMENTS`` rows (153 MB at 384 dimensions), usually far fewer as answerers share
threads. float16 would halve it but numpy multiplies float16 about 12x slower (no BLAS), which
the per-question budget cannot pay. :meth:`MemberProfiles.clear` releases it all; the
:class:`retrieval.library.Library` keeps profiles for only a few group sets.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from retrieval.experts_clock import UNDATED, Clock, credited, epoch_days
from retrieval.experts_model import relevance
from retrieval.records import ANSWER_ROLES
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
    """One member's profile: their latest answered documents (rows of a matrix shared with the
    members profiled alongside them) and dates, the documents' unit mean, and the tags of
    everything they answered."""

    vector: np.ndarray
    """Normalised mean of the documents' vectors, shape (d,) (zeros when nothing is answered)."""
    matrix: np.ndarray
    """First-chunk vectors of answered documents, shape (n, d), float32, shared between profiles."""
    rows: np.ndarray
    """This member's documents: row numbers into :attr:`matrix`, shape (k,), latest first."""
    days: np.ndarray
    """When they answered each of those documents, in days since the epoch, shape (k,) (NaN: undated)."""
    tags: Counter[str] = field(default_factory=Counter)

    @property
    def documents(self) -> np.ndarray:
        """Their documents' vectors, shape (k, d) (a copy)."""
        return self.matrix[self.rows]

    def history(self, question: np.ndarray, floor: float, clock: Clock, half_life_days: float) -> float:
        """Model 2 over everything they answered: the summed relevance of their answered
        documents to ``question`` (unit vector, shape (d,); cosine above ``floor``, scaled to
        1 at cosine 1), each decayed by its age on ``clock`` (undated: no decay; dated after
        the clock: no credit)."""
        if not len(self.rows):
            return 0.0
        credit = relevance(self.documents @ question, floor) * credited(clock.ages(self.days), half_life_days)
        return float(credit.sum())


@dataclass
class Leaders:
    """The profiled leading answerers, flattened for one product per question."""

    ids: list[str]
    matrix: np.ndarray
    """Distinct documents they answered, shape (n, d), float32."""
    rows: np.ndarray
    """Per (member, document) pair: the document's row in :attr:`matrix`, shape (p,)."""
    days: np.ndarray
    """Per pair: when they answered it (days since the epoch; NaN undated), shape (p,)."""
    owners: np.ndarray
    """Per pair: the member, an index into :attr:`ids`, shape (p,)."""


class MemberProfiles:
    """Profiles of one snapshot's members as ``groups`` may see them; built on first use and
    kept (until :meth:`clear`), so keep one per immutable snapshot and group set (as
    :class:`MemberStats` does)."""

    def __init__(self, catalog: Catalog, vectors: VectorIndex, groups: Groups = ()) -> None:
        self.catalog, self.vectors, self.groups = catalog, vectors, groups
        self.known: dict[str, Profile] = {}
        self._leaders: Leaders | None = None

    def clear(self) -> None:
        """Release every profile (they are rebuilt on next use)."""
        self.known, self._leaders = {}, None

    def leaders(self) -> Leaders:
        """The leading :data:`PROFILE_MEMBERS` answerers' profiles, built together so they
        share one matrix of distinct documents."""
        if self._leaders is None:
            ids = [m for m, _ in self.catalog.top_answerers(self.groups, PROFILE_MEMBERS)]
            found = self._read(ids)
            self.known.update(found)
            matrix = (found[ids[0]].matrix if ids else np.zeros((0, self.vectors.dimension), np.float32))
            pick = [found[m] for m in ids]
            self._leaders = Leaders(
                ids, matrix, np.concatenate([p.rows for p in pick]) if ids else np.zeros(0, np.int64),
                np.concatenate([p.days for p in pick]) if ids else np.zeros(0),
                np.repeat(np.arange(len(ids)), [len(p.rows) for p in pick]))
        return self._leaders

    def closest(self, question: np.ndarray, n: int, floor: float, clock: Clock = UNDATED,
                half_life_days: float = float("inf")) -> list[str]:
        """The ``n`` leading answerers with the highest :meth:`Profile.history` for
        ``question`` (a unit vector, shape (d,)) on ``clock``, best first (ties by member
        id); members with no relevant answered document are left out."""
        lead = self.leaders()
        if not lead.ids or n <= 0:
            return []
        similarity = (lead.matrix @ question)[lead.rows]
        credit = relevance(similarity, floor) * credited(clock.ages(lead.days), half_life_days)
        scores = np.bincount(lead.owners, weights=credit, minlength=len(lead.ids))
        order = np.lexsort((np.asarray(lead.ids), -scores))[:n]  # best first, ties by member id
        return [lead.ids[i] for i in order if scores[i] > 0]

    def get(self, ids: list[str]) -> dict[str, Profile]:
        """The profile of each member in ``ids`` (no visible answers: a zero vector, no tags)."""
        missing = sorted(set(ids) - self.known.keys())
        if missing:
            self.known.update(self._read(missing))
        return {m: self.known[m] for m in ids}

    def _read(self, ids: list[str]) -> dict[str, Profile]:
        """Profiles of ``ids`` read from the catalog, sharing one matrix."""
        answered: dict[str, list[ContributionInfo]] = {m: [] for m in ids}
        for c in self.catalog.member_contributions(ids, self.groups):
            if c.role in ANSWER_ROLES:
                answered[c.member_id].append(c)
        return self._profiles({m: latest_documents(rows) for m, rows in answered.items()})

    def _profiles(self, documents: dict[str, list[tuple[str, str | None]]]) -> dict[str, Profile]:
        """Profiles from each member's answered (document id, date), latest first: vectors of
        the first :data:`PROFILE_DOCUMENTS` (one shared matrix of the distinct documents),
        tags of all."""
        every = sorted({d for docs in documents.values() for d, _ in docs})
        tags = {d.id: d.tags for d in self.catalog.documents(every, self.groups).values()}
        latest = sorted({d for docs in documents.values() for d, _ in docs[:PROFILE_DOCUMENTS]})
        chunks = self.catalog.chunk_ids(latest, self.groups)
        order = sorted(d for d, ids in chunks.items() if ids)
        dimension = self.vectors.dimension
        matrix = np.ascontiguousarray(self.vectors.vectors([chunks[d][0] for d in order]), dtype=np.float32) \
            if order else np.zeros((0, dimension), np.float32)
        row = {d: i for i, d in enumerate(order)}
        found = {}
        for member, docs in documents.items():
            kept = [(row[d], when) for d, when in docs[:PROFILE_DOCUMENTS] if d in row]
            rows = np.array([r for r, _ in kept], dtype=np.int64)
            mean = matrix[rows].mean(axis=0) if len(rows) else np.zeros(dimension, dtype=np.float32)
            norm = float(np.linalg.norm(mean))
            vector = (mean / norm if norm > 0 else mean).astype(np.float32)
            found[member] = Profile(vector, matrix, rows, np.array([epoch_days(when) for _, when in kept]),
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
