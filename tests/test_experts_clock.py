"""Expert suggestions on the data's own clock, the numbers behind each suggestion, and the
weights passed as settings (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from retrieval.experts import suggest_experts
from retrieval.experts_clock import Clock, serving_clock
from retrieval.experts_model import ExpertWeights
from retrieval.experts_why import Why
from retrieval.records import Member
from tests.helpers import Community
from tests.test_experts import HAND, ids, make_hit

pytestmark = pytest.mark.unit


@pytest.fixture
def community(tmp_path: Path) -> Community:
    community = Community(tmp_path / "index")
    community.members += [Member("m01", "Ada"), Member("m02", "Bo"), Member("m03", "Cy")]
    return community


def test_an_old_archive_is_measured_against_its_own_last_day(community: Community) -> None:
    for i in range(3):
        community.add_post(f"a{i}", "m02", "answer", "2015-03-01T00:00:00Z")
    community.add_post("old", "m01", "answer", "2012-01-01T00:00:00Z")
    catalog = community.catalog()
    assert serving_clock(catalog, ()) == Clock(datetime(2015, 3, 1, tzinfo=UTC))
    hits = [make_hit("m01", "t1", 0.6, created_at="2014-06-01T00:00:00Z"),
            make_hit("m02", "t2", 0.6, created_at="2014-06-01T00:00:00Z")]
    # no "now": the clock is the archive's last activity, so m02 is recently active there;
    # against the wall clock (years later) nobody would be, and the tie would go to m01
    assert ids(suggest_experts(hits, catalog, weights=HAND)) == ["m02", "m01"]
    # a question asked years after the archive's last day is measured from that day too
    # (the earlier of the two), not from an empty window before its own date
    assert ids(suggest_experts(hits, catalog, now=datetime(2026, 11, 30, tzinfo=UTC), weights=HAND)) == ["m02", "m01"]
    # asked before m02's answers were written: they had not happened, the tie goes to m01
    assert ids(suggest_experts(hits, catalog, now=datetime(2014, 7, 1, tzinfo=UTC),
                               weights=ExpertWeights(answering=0.0, volume=0.0))) == ["m01", "m02"]


def test_the_clock_only_sees_what_the_asker_may_see(community: Community) -> None:
    community.add_post("pub", "m01", "answer", "2020-01-01T00:00:00Z")
    community.add_post("priv", "m02", "answer", "2024-01-01T00:00:00Z", group="mentors")
    catalog = community.catalog()
    assert serving_clock(catalog, ()).iso == "2020-01-01T00:00:00Z"
    assert serving_clock(catalog, ("mentors",)).iso == "2024-01-01T00:00:00Z"


def test_an_undated_archive_gets_a_prior_from_volume(community: Community) -> None:
    for i in range(3):
        community.add_post(f"a{i}", "m02", "answer", None)
    catalog = community.catalog()
    assert serving_clock(catalog, ()) == Clock(None)
    hits = [make_hit("m01", "t1", 0.6, created_at=""), make_hit("m02", "t2", 0.6, created_at="")]
    assert ids(suggest_experts(hits, catalog, weights=HAND)) == ["m02", "m01"]
    # and recency is neutral: an undated question finds undated evidence at full weight
    [ada] = [e for e in suggest_experts(hits, catalog, weights=HAND) if e.member_id == "m01"]
    assert ada.evidence[0].score == pytest.approx((0.6 - 0.3) / 0.7, abs=1e-5)


def test_each_suggestion_says_why_in_numbers(community: Community) -> None:
    community.add_post("t1", "m01", "accepted", "2025-03-02T00:00:00Z", score=4)
    community.add_post("t2", "m01", "answer", "2025-01-10T00:00:00Z")
    community.add_post("t3", "m01", "question", "2024-12-01T00:00:00Z")
    community.add_post("other", "m01", "answer", "2024-05-01T00:00:00Z")
    hits = [make_hit("m00", doc, 0.7, role="question", created_at="2024-01-01T00:00:00Z") for doc in ("t1", "t2", "t3")]
    for hit in hits:
        hit.tags = ["varroa"] if hit.doc_id != "t3" else ["varroa", "winter"]
    [ada] = [e for e in suggest_experts(hits, community.catalog(), k=5, weights=HAND) if e.member_id == "m01"]
    assert ada.why == Why(topic="varroa", answered=2, accepted=1, asked=1, related_last="2025-03-02T00:00:00Z",
                          answers_total=3, accepted_total=1, last_active="2025-03-02T00:00:00Z", topic_count=2)
    assert ada.why.text() == ("Answered 2 related questions (2 tagged varroa), 1 accepted, asked 1 related question, "
                              "last in March 2025; 3 answers in all, 1 accepted")


def test_the_topic_counts_only_the_answered_threads_that_carry_it(community: Community) -> None:
    for doc in ("t1", "t2", "t3"):
        community.add_post(doc, "m01", "answer", "2025-03-02T00:00:00Z")
    hits = [make_hit("m00", doc, 0.7, role="question") for doc in ("t1", "t2", "t3")]
    for hit, tags in zip(hits, (["varroa"], ["swarm", "spring"], ["swarm"]), strict=True):
        hit.tags = tags
    [ada] = [e for e in suggest_experts(hits, community.catalog(), k=5, weights=HAND) if e.member_id == "m01"]
    assert ada.why is not None and (ada.why.topic, ada.why.topic_count, ada.why.answered) == ("swarm", 2, 3)
    assert ada.why.text().startswith("Answered 3 related questions (2 tagged swarm)")


def test_why_in_words_without_a_topic_or_answers() -> None:
    why = Why(topic="", answered=0, accepted=0, asked=1, related_last=None, answers_total=0, accepted_total=0,
              last_active=None)
    assert why.text() == "Asked 1 related question"


def test_weights_are_settings_not_module_state(community: Community) -> None:
    community.add_post("t1", "m01", "question", "2025-01-01T00:00:00Z")
    community.add_post("t1", "m02", "answer", "2025-01-02T00:00:00Z")
    hits = [make_hit("m01", "t1", 0.7, role="question")]
    now = datetime(2025, 2, 1, tzinfo=UTC)
    assert ids(suggest_experts(hits, community.catalog(), now=now, weights=HAND)) == ["m02", "m01"]
    askers_first = ExpertWeights(question_role=5.0)
    assert ids(suggest_experts(hits, community.catalog(), now=now, weights=askers_first)) == ["m01", "m02"]


def test_the_shipped_ranker_is_read_from_the_repository(tmp_path: Path) -> None:
    from retrieval.experts_model import DEFAULT_WEIGHTS, RANKER_FILE, load_weights

    assert RANKER_FILE.is_file() and load_weights() == DEFAULT_WEIGHTS
    bad = tmp_path / "ranker.json"
    bad.write_text('{"coefficients": [1, 2], "prior_candidates": 3}')
    with pytest.raises(ValueError, match="ranker.json: coefficients"):
        load_weights(bad)
    bad.write_text("not json")
    with pytest.raises(ValueError, match="ranker.json: not an expert ranker file"):
        load_weights(bad)


def test_one_decay_serves_one_contribution_and_arrays_of_them() -> None:
    import numpy as np

    from retrieval.experts_clock import decay, epoch_days

    clock = Clock(datetime(2024, 1, 31, tzinfo=UTC))
    dates = ["2024-01-01T00:00:00Z", "2023-01-31T00:00:00Z", "2024-03-01T00:00:00Z", None]
    ages = clock.ages(np.array([epoch_days(d) for d in dates]))
    vector = decay(ages, 30.0)
    assert vector.tolist() == pytest.approx([clock.recency(d, 30.0) for d in dates])
    assert vector.tolist() == pytest.approx([0.5, 0.5 ** (365 / 30), 1.0, 1.0])  # 30 days, a year, future, undated
    assert decay(ages, float("inf")).tolist() == [1.0] * 4
    assert np.isnan(Clock(None).ages(np.array([1.0, 2.0]))).all()
    assert decay(Clock(None).ages(np.array([1.0, 2.0])), 30.0).tolist() == [1.0, 1.0]


def test_relevance_is_zero_at_chance_level_and_one_at_cosine_one() -> None:
    import numpy as np

    from retrieval.experts_model import relevance

    assert relevance(np.array([0.1, 0.3, 0.65, 1.0]), 0.3).tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0])
    assert float(relevance(0.65, 0.3)) == pytest.approx(0.5)
