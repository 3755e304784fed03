"""Members' track records as of a clock, read through the Catalog from what the asker may see.

Every fact here comes from ``Catalog.member_contributions(ids, groups)``: only documents the
caller's groups may see count (a private thread never adds to anyone's numbers shown to an
outsider). Facts are kept per member as date-sorted prefix sums, so one read serves every
question whatever its clock (evaluation asks each question at its own date).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import accumulate

from retrieval.experts_clock import Clock, epoch_days, serving_clock
from retrieval.experts_model import ExpertWeights
from retrieval.experts_profiles import MemberProfiles
from retrieval.records import ANSWER_ROLES, to_iso
from retrieval.storage import Catalog, VectorIndex
from retrieval.views import ContributionInfo

RECENT_KEPT = 8
"""Clocks whose :meth:`MemberFacts.recent` each member keeps (evaluation moves the clock per question)."""


@dataclass(frozen=True)
class Record:
    """A member's totals up to some moment."""

    answers: int = 0
    accepted: int = 0
    received: int = 0
    documents: int = 0
    last: str | None = None
    """Date of their latest dated contribution (None: none dated)."""


@dataclass
class MemberFacts:
    """One member's contributions, as prefix sums over their dated ones plus undated totals."""

    name: str
    opt_out: bool
    dates: list[str] = field(default_factory=list)
    """Dates of the dated contributions, sorted."""
    roles: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=lambda: [0])
    """answers[i]: answering contributions among the first i dated ones (len(dates) + 1)."""
    accepted: list[int] = field(default_factory=lambda: [0])
    received: list[int] = field(default_factory=lambda: [0])
    undated: Record = Record()
    undated_roles: list[str] = field(default_factory=list)
    first: list[str] = field(default_factory=list)
    """Per document contributed to: date of the first contribution ('' when undated), sorted."""
    _recent: dict[tuple[object, ExpertWeights], float] = field(default_factory=dict, repr=False, compare=False)
    """:meth:`recent` per (clock moment, weights), a few kept: serving asks it on the same
    clock for every question, and a prolific member has thousands of contributions."""

    def record(self, clock: Clock) -> Record:
        """Totals of what had happened by ``clock`` (its :attr:`~retrieval.experts_clock.Clock.until`;
        undated contributions always count)."""
        until = clock.until
        n = len(self.dates) if until is None else bisect_right(self.dates, until)
        documents = len(self.first) if until is None else bisect_right(self.first, until)
        return Record(
            answers=self.undated.answers + self.answers[n], accepted=self.undated.accepted + self.accepted[n],
            received=self.undated.received + self.received[n], documents=documents,
            last=self.dates[n - 1] if n else None,
        )

    def recent(self, clock: Clock, weights: ExpertWeights) -> float:
        """Recent activity: contributions in the window before the clock, weighted by role and
        decayed from it. On an undated clock: the member's volume (role-weighted)."""
        key = (clock.now or clock.until, weights)
        found = self._recent.get(key)
        if found is None:
            if len(self._recent) >= RECENT_KEPT:
                self._recent.clear()
            found = self._recent[key] = self._recent_sum(clock, weights)
        return found

    def _recent_sum(self, clock: Clock, weights: ExpertWeights) -> float:
        # role weights and decays looked up once per distinct role and date: a prolific member
        # has thousands of contributions, on far fewer days
        if clock.now is None or clock.iso is None:
            until = clock.until
            every = [*(self.roles if until is None else self.roles[:bisect_right(self.dates, until)]),
                     *self.undated_roles]
            weight = {r: weights.role(r) for r in set(every)}
            return sum(weight[r] for r in every)
        start = to_iso(clock.now - timedelta(days=weights.activity_window_days)) or ""
        lo, hi = bisect_left(self.dates, start), bisect_right(self.dates, clock.iso)
        dates, roles = self.dates[lo:hi], self.roles[lo:hi]
        weight = {r: weights.role(r) for r in set(roles)}
        decay = {d: clock.recency(d, weights.activity_half_life_days) for d in set(dates)}
        return sum(weight[r] * decay[d] for r, d in zip(roles, dates, strict=True))

    def first_answer(self, clock: Clock) -> str | None:
        """Date (ISO) of the member's first dated answering contribution, if it had happened by
        ``clock`` (None: no dated answer by then, or an undated clock)."""
        if clock.iso is None:
            return None
        j = bisect_left(self.answers, 1)  # answers[j] counts the first j dated contributions
        if j > len(self.dates) or self.dates[j - 1] > clock.iso:
            return None
        return self.dates[j - 1]

    def newcomer(self, clock: Clock, weights: ExpertWeights) -> float:
        """How new an answerer the member is: the decay (``weights.activity_half_life_days``)
        of their first answer's age at ``clock``. In [0, 1]; 0 on an undated clock, with no
        dated answer by then, or with undated answers (whose age is unknown, so the member is
        not known to be new)."""
        first = self.first_answer(clock)
        if first is None or self.undated.answers:
            return 0.0
        return clock.recency(first, weights.activity_half_life_days)


    def idle(self, clock: Clock, weights: ExpertWeights) -> float:
        """Days from the member's latest dated answering contribution (by ``clock``) to
        ``clock``, at most ``weights.activity_window_days`` (that cap too when they have no
        dated answer by then, so an unknown is never read as "just answered"); 0 on an undated
        clock (every member alike)."""
        if clock.now is None or clock.iso is None:
            return 0.0
        n = bisect_right(self.dates, clock.iso)
        if self.answers[n] == 0:
            return weights.activity_window_days
        latest = self.dates[bisect_left(self.answers, self.answers[n]) - 1]  # answers[j]: the first j dated
        age = (clock.days or 0.0) - epoch_days(latest)
        return min(max(age, 0.0), weights.activity_window_days)


def facts_of(name: str, opt_out: bool, rows: list[ContributionInfo]) -> MemberFacts:
    """Build :class:`MemberFacts` from one member's contributions."""
    ordered = sorted(rows, key=lambda c: c.created_at or "")  # stable: undated first, in the given order
    dated = [c for c in ordered if c.created_at]
    undated = [c for c in rows if not c.created_at]
    answering = [c for c in undated if c.role in ANSWER_ROLES]
    first: dict[str, str] = {}
    for c in ordered:
        first.setdefault(c.doc_id, c.created_at or "")
    return MemberFacts(
        name, opt_out, dates=[c.created_at or "" for c in dated], roles=[c.role for c in dated],
        answers=[0, *accumulate(int(c.role in ANSWER_ROLES) for c in dated)],
        accepted=[0, *accumulate(int(c.role == "accepted") for c in dated)],
        received=[0, *accumulate(c.score if c.role in ANSWER_ROLES else 0 for c in dated)],
        undated=Record(len(answering), sum(c.role == "accepted" for c in answering),
                       sum(c.score for c in answering)),
        undated_roles=[c.role for c in undated],
        first=sorted(first.values()),
    )


class MemberStats:
    """Member facts read from one snapshot's catalog, only from documents ``groups`` may see.

    Members are read on first use and kept, so reuse one instance per immutable snapshot and
    group set (as :class:`retrieval.library.Library` does); a fresh one reads afresh. Given the
    snapshot's ``vectors``, it also keeps the members' topical :attr:`profiles`.
    """

    def __init__(self, catalog: Catalog, groups: tuple[str, ...] = (), vectors: VectorIndex | None = None) -> None:
        self.catalog, self.groups = catalog, groups
        self.profiles = MemberProfiles(catalog, vectors, groups) if vectors is not None else None
        self.known: dict[str, MemberFacts] = {}
        self._clock: Clock | None = None
        self._leaders: dict[tuple[str | None, ExpertWeights], list[str]] = {}

    def clock(self) -> Clock:
        """The serving clock of this snapshot and group set (read once; see
        :func:`retrieval.experts_clock.serving_clock`)."""
        if self._clock is None:
            self._clock = serving_clock(self.catalog, self.groups)
        return self._clock

    def reference(self, clock: Clock) -> Clock:
        """The clock a question asked at ``clock`` is measured from: the earlier of ``clock``
        and the serving clock (the latest activity these groups may see); ``clock`` itself when
        either is undated. Serving asks at the serving clock, so nothing changes there. A
        question asked after the index's last activity (evaluation: a later question against an
        index cut earlier) is measured from the index's own last day, as serving that index
        would be: nothing visible lies between the two, so only the decays change, and "recent
        activity", "recent answerers" and "newcomers" keep their meaning instead of fading with
        the gap (no later fact is used: the reference is never after ``clock``)."""
        served = self.clock()
        if clock.now is None or served.now is None or clock.now <= served.now:
            return clock
        return served

    def leaders(self, clock: Clock, weights: ExpertWeights) -> list[str]:
        """The ``weights.prior_candidates`` members with the most answers up to ``clock``, then
        (dated clocks only) as many with the most answers in the activity window before it,
        then ``weights.recent_candidates`` with the most answers in its last
        ``weights.activity_half_life_days`` (recent answerers, newcomers among them), without
        repeats: candidates by track record (kept per clock; pass the :meth:`reference` clock)."""
        key = (clock.until, weights)
        if key not in self._leaders:
            n = weights.prior_candidates
            ranked = [m for m, _ in self.catalog.top_answerers(self.groups, n, until=clock.until)]
            if clock.now is not None:
                start = to_iso(clock.now - timedelta(days=weights.activity_window_days))
                ranked += [m for m, _ in self.catalog.top_answerers(self.groups, n, since=start, until=clock.iso)]
            if clock.now is not None and weights.recent_candidates > 0:
                start = to_iso(clock.now - timedelta(days=weights.activity_half_life_days))
                ranked += [m for m, _ in self.catalog.top_answerers(self.groups, weights.recent_candidates,
                                                                    since=start, until=clock.iso)]
            self._leaders[key] = list(dict.fromkeys(ranked))
        return self._leaders[key]

    def get(self, ids: list[str]) -> dict[str, MemberFacts]:
        """Facts of each member in ``ids`` (unknown ids: named by their id, no contributions)."""
        missing = sorted(set(ids) - self.known.keys())
        if missing:
            members = self.catalog.members(missing)
            rows: dict[str, list[ContributionInfo]] = {m: [] for m in missing}
            for c in self.catalog.member_contributions(missing, self.groups):
                rows[c.member_id].append(c)
            for member in missing:
                known = members.get(member)
                self.known[member] = facts_of(known.name if known else member, known.opt_out if known else False,
                                              rows[member])
        return {m: self.known[m] for m in ids}
