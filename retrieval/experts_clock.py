"""The clock expert suggestions are measured against: the data's own time, not the wall clock.

Recency of evidence and recent activity are measured from a :class:`Clock`:

- evaluation (``bench/experts.py``): the moment the question was asked, so nothing written
  after it counts and "recent" means recent *then* (when it was asked after the index's last
  visible activity, that last day: see
  :meth:`retrieval.experts_members.MemberStats.reference`);
- serving (``GET /experts``, ``POST /ask``): the latest dated contribution the asker may see
  that is not after the wall clock (:meth:`retrieval.storage.Catalog.latest_activity`), so an
  archive imported years later is measured against its own last day, not against today. The
  wall clock is only a ceiling: a post dated after it (a device with a wrong clock, a bad
  export) cannot be right, so it does not move the clock and, being after it, counts towards
  no suggestion (no evidence, no answer count, no "last in", no recent activity, no profile
  credit) until its date arrives; it is still searched and cited. Otherwise one such post
  would make its author the most recent answerer of the community for years, and every
  other member's activity would look old;
- undated data (no visible contribution has a date, or the question has none): an *undated*
  clock. Recency is neutral (every contribution counts fully) and the recent-activity prior
  is replaced by the member's volume (see :meth:`retrieval.experts_members.MemberFacts.recent`).
  Served undated, the wall clock stays a ceiling (:attr:`Clock.ceiling`): an undated archive
  whose only dates are wrong future ones does not count those posts either.

Decay has one definition, :func:`decay` (vectorised over ages); :meth:`Clock.recency` is its
scalar use and the members' profiles (:mod:`retrieval.experts_profiles`) its array use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache

import numpy as np

from retrieval.records import parse_iso, to_iso
from retrieval.storage import Catalog
from retrieval.views import Groups


@dataclass(frozen=True)
class Clock:
    """A moment to measure from, or None for undated data."""

    now: datetime | None
    ceiling: str | None = field(default=None, compare=False)
    """On an undated clock, the moment (ISO) after which a dated contribution has not happened
    (serving: the wall clock, so an archive whose only dates are wrong future ones does not
    count them or say "last in" a month to come); None: no limit. Ignored on a dated clock."""

    @cached_property
    def until(self) -> str | None:
        """The latest moment (ISO) a contribution may be dated and have happened: :attr:`iso`,
        else :attr:`ceiling` (None: no limit)."""
        return self.iso if self.now is not None else self.ceiling

    @cached_property
    def iso(self) -> str | None:
        """:attr:`now` as a sortable ISO string (None when undated); formatted once, as an
        expert ranking asks for it once per contribution."""
        return to_iso(self.now) if self.now is not None else None

    @cached_property
    def days(self) -> float | None:
        """:attr:`now` in days since the epoch (None when undated)."""
        return self.now.timestamp() / 86400.0 if self.now is not None else None

    def ages(self, days: np.ndarray) -> np.ndarray:
        """Ages at :attr:`now`, in days, of moments given in days since the epoch (shape kept;
        NaN for undated moments and everywhere on an undated clock, except -inf there for
        moments after its :attr:`ceiling`: they have not happened)."""
        now = self.days
        if now is not None:
            return now - days
        unknown = np.full(np.shape(days), np.nan)
        if self.ceiling is None:
            return unknown
        return np.where(np.asarray(days) > epoch_days(self.ceiling), -np.inf, unknown)

    def happened(self, created_at: str | None) -> bool:
        """Whether a contribution dated ``created_at`` had happened by :attr:`until` (undated
        contributions, and everything on an undated clock without a ceiling, have)."""
        until = self.until
        return until is None or not created_at or created_at <= until

    def recency(self, created_at: str | None, half_life_days: float) -> float:
        """Exponential decay with ``half_life_days`` from :attr:`now`: 1.0 for undated
        contributions, on an undated clock, for an infinite half-life, and for the future."""
        if self.now is None or not created_at or half_life_days == float("inf"):
            return 1.0
        return float(decay((self.now - _parsed(created_at)).total_seconds() / 86400.0, half_life_days))


UNDATED = Clock(None)
"""The undated clock: no recency decay, volume for recent activity."""


def decay(age_days: np.ndarray | float, half_life_days: float) -> np.ndarray:
    """Exponential decay ``0.5 ** (age / half_life_days)`` of ages in days, elementwise (any
    shape; a 0-d array or numpy scalar for one age): 1.0 for NaN ages (undated), negative ages
    (the future) and an infinite half-life."""
    if half_life_days == float("inf"):
        return np.ones_like(age_days, dtype=np.float64)
    return np.asarray(0.5 ** (np.fmax(age_days, 0.0) / half_life_days))


def epoch_days(created_at: str | None) -> float:
    """An ISO date as days since the epoch (NaN when undated); parsed through a cache."""
    return _parsed(created_at).timestamp() / 86400.0 if created_at else float("nan")


def credited(ages: np.ndarray, half_life_days: float) -> np.ndarray:
    """:func:`decay` of ages in days for what had happened by the clock, 0.0 for the future
    (negative ages: dated after the clock, so no credit); NaN (undated) ages decay to 1.0."""
    return np.where(np.asarray(ages) < 0, 0.0, decay(ages, half_life_days))


def serving_clock(catalog: Catalog, groups: Groups, wall: datetime | None = None) -> Clock:
    """The serving clock: the latest contribution ``groups`` may see that is not after
    ``wall`` (default: the wall clock now, UTC); undated when none such is dated."""
    ceiling = to_iso(wall or datetime.now(UTC))
    latest = catalog.latest_activity(groups, until=ceiling)
    return Clock(parse_iso(latest)) if latest else Clock(None, ceiling)


@lru_cache(maxsize=65536)
def _parsed(created_at: str) -> datetime:
    """:func:`parse_iso`, remembered: the same contributions' dates come back request after
    request (parsing them again was about a tenth of ``POST /ask``'s CPU; docs/benchmarks.md, load)."""
    return parse_iso(created_at)
