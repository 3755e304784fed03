"""A member's recent activity looks role weights and decays up once per distinct role and
date; the figure must be the sum the definition gives, contribution by contribution."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from retrieval.experts_clock import Clock
from retrieval.experts_members import facts_of
from retrieval.experts_model import DEFAULT_WEIGHTS
from retrieval.records import to_iso
from retrieval.views import ContributionInfo

pytestmark = pytest.mark.unit
ROLES = ["question", "answer", "accepted", "comment", "author"]


def contributions(seed: int) -> list[ContributionInfo]:
    rng = random.Random(seed)
    days = [f"2024-{m:02d}-{d:02d}T10:00:00Z" for m in range(1, 13) for d in (1, 15)]
    return [ContributionInfo(f"d{rng.randrange(30)}", "m1", rng.choice(ROLES), f"p{i}",
                             rng.choice([*days, None]), rng.randrange(5)) for i in range(rng.randrange(1, 300))]


@pytest.mark.parametrize("seed", range(20))
def test_recent_activity_is_the_sum_of_each_contributions_weight(seed: int) -> None:
    rows, w = contributions(seed), DEFAULT_WEIGHTS
    facts = facts_of("m1", False, rows)
    clock = Clock(datetime(2024, 12, 20, tzinfo=UTC))
    start = to_iso(datetime(2024, 12, 20, tzinfo=UTC) - timedelta(days=w.activity_window_days)) or ""
    dated = sorted((c for c in rows if c.created_at), key=lambda c: c.created_at or "")
    window = [c for c in dated if start <= (c.created_at or "") and clock.happened(c.created_at)]
    expected = sum(w.role(c.role) * clock.recency(c.created_at, w.activity_half_life_days) for c in window)
    assert window and facts.recent(clock, w) == expected
    volume = sum(w.role(c.role) for c in [*dated, *(c for c in rows if not c.created_at)])
    assert facts_of("m1", False, rows).recent(Clock(None), w) == volume
