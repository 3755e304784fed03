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


def row(role: str, created_at: str | None, doc: str = "d1") -> ContributionInfo:
    return ContributionInfo(doc, "m1", role, f"{doc}-{role}-{created_at}", created_at, 0)


def test_a_newcomer_is_measured_from_the_first_answer() -> None:
    w = DEFAULT_WEIGHTS
    facts = facts_of("m1", False, [
        row("question", "2024-01-01T00:00:00Z"), row("comment", "2024-02-01T00:00:00Z"),
        row("answer", "2024-06-01T00:00:00Z", "d2"), row("accepted", "2024-06-20T00:00:00Z"),
    ])
    late = Clock(datetime(2024, 7, 1, tzinfo=UTC))
    assert facts.first_answer(late) == "2024-06-01T00:00:00Z"  # the question and the comment are no answers
    expected = late.recency("2024-06-01T00:00:00Z", w.activity_half_life_days)
    assert facts.newcomer(late, w) == expected and 0.45 < expected < 0.55  # 30 days old: about half
    assert facts.newcomer(Clock(datetime(2024, 6, 11, tzinfo=UTC)), w) > facts.newcomer(late, w)
    before = Clock(datetime(2024, 5, 1, tzinfo=UTC))
    assert facts.first_answer(before) is None and facts.newcomer(before, w) == 0.0  # not answered yet


def test_no_newcomer_on_undated_data_or_with_undated_answers() -> None:
    w = DEFAULT_WEIGHTS
    dated = facts_of("m1", False, [row("answer", "2024-06-01T00:00:00Z")])
    assert dated.newcomer(Clock(None), w) == 0.0
    mixed = facts_of("m1", False, [row("answer", None), row("answer", "2024-06-01T00:00:00Z", "d2")])
    clock = Clock(datetime(2024, 6, 2, tzinfo=UTC))
    assert mixed.first_answer(clock) == "2024-06-01T00:00:00Z" and mixed.newcomer(clock, w) == 0.0
    assert facts_of("m1", False, [row("comment", "2024-06-01T00:00:00Z")]).newcomer(clock, w) == 0.0


def test_idle_days_run_from_the_latest_answer_by_the_clock() -> None:
    w = DEFAULT_WEIGHTS
    facts = facts_of("m1", False, [
        row("answer", "2024-03-01T00:00:00Z", "d2"), row("accepted", "2024-06-01T00:00:00Z"),
        row("comment", "2024-06-25T00:00:00Z"), row("question", "2024-06-28T00:00:00Z", "d3"),
        row("answer", "2024-09-01T00:00:00Z", "d4"),
    ])
    assert facts.idle(Clock(datetime(2024, 7, 1, tzinfo=UTC)), w) == 30.0  # comments and questions are no answers
    assert facts.idle(Clock(datetime(2024, 3, 11, tzinfo=UTC)), w) == 10.0  # the June answer had not happened yet
    assert facts.idle(Clock(datetime(2024, 9, 1, tzinfo=UTC)), w) == 0.0
    assert facts.idle(Clock(datetime(2026, 1, 1, tzinfo=UTC)), w) == w.activity_window_days  # capped


def test_idle_is_capped_when_unknown_and_zero_when_undated() -> None:
    w = DEFAULT_WEIGHTS
    clock = Clock(datetime(2024, 7, 1, tzinfo=UTC))
    assert facts_of("m1", False, [row("answer", None)]).idle(clock, w) == w.activity_window_days
    assert facts_of("m1", False, [row("answer", "2024-08-01T00:00:00Z")]).idle(clock, w) == w.activity_window_days
    assert facts_of("m1", False, [row("answer", "2024-06-01T00:00:00Z")]).idle(Clock(None), w) == 0.0
