"""Expert suggestions (Balog model 2 with an activity prior): roles, recency, volume, thread
contributors, recent activity, opt-outs, and evidence and activity only from what the asker sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from retrieval.experts import Expert, suggest_experts
from retrieval.experts_model import DEFAULT_WEIGHTS, ExpertWeights
from retrieval.library import Library
from retrieval.records import Member
from retrieval.search import Hit
from tests.helpers import Community, private_ids

NOW = datetime(2026, 1, 1, tzinfo=UTC)
HAND = ExpertWeights()
"""Hand weights without prior candidates: the mechanism tests (roles, recency, activity,
visibility) check the features, whatever combination ships in retrieval/experts_ranker.json."""
STING_QUESTIONS = [
    "What first aid should I give for a bee sting?",
    "How do I recognise an allergic reaction to a sting?",
    "What should be in the first aid kit at the apiary?",
    "Can propolis cause a skin allergy?",
]


def make_hit(author: str, doc_id: str, similarity: float, role: str = "answer", accepted: bool = False,
             created_at: str = "2025-06-01T00:00:00Z", post_score: int = 0, kind: str = "thread") -> Hit:
    post_id = None if kind == "resource" else f"{doc_id}-{author}-{role}"
    return Hit(
        chunk_id=0, doc_id=doc_id, kind=kind, post_id=post_id, title=f"Title {doc_id}", channel="general",
        url=f"https://x/{doc_id}", section="", text="...", start=0, end=3, author=author, author_name=None,
        created_at=created_at, score=0.01, similarity=similarity, role="" if kind == "resource" else role,
        accepted=accepted, post_score=post_score,
    )


@pytest.fixture
def db(tmp_path: Path) -> Community:
    """Four members; m04 opted out; m03 wrote in 200 (undated) threads, so volume but no recent
    activity. Written through the real snapshot writer; ``db.catalog()`` opens the result."""
    community = Community(tmp_path / "index")
    community.members += [Member("m01", "Ada"), Member("m02", "Bo"), Member("m03", "Cy"),
                          Member("m04", "Di", opt_out=True)]
    for i in range(200):
        community.add_post(f"d{i}", "m03", "answer", None)
    community.add_post("d", "m01", "answer", None)
    community.add_post("d", "m02", "answer", None)
    return community


def ids(experts: list[Expert]) -> list[str]:
    return [e.member_id for e in experts]


@pytest.mark.unit
def test_accepted_answer_outranks_question(db: Community) -> None:
    hits = [make_hit("m01", "t1", 0.6, role="question"), make_hit("m02", "t1", 0.6, accepted=True)]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND)) == ["m02", "m01"]


@pytest.mark.unit
def test_recent_help_counts_more(db: Community) -> None:
    hits = [make_hit("m01", "t1", 0.6, created_at="2019-01-01T00:00:00Z"), make_hit("m02", "t2", 0.6)]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND)) == ["m02", "m01"]


@pytest.mark.unit
def test_volume_alone_does_not_win(db: Community) -> None:
    hits = [make_hit("m03", f"t{i}", 0.35) for i in range(5)] + [make_hit("m01", "t9", 0.7, accepted=True)]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND))[0] == "m01"


@pytest.mark.unit
def test_chance_level_hits_are_no_evidence(db: Community) -> None:
    assert suggest_experts([make_hit("m01", "t1", 0.2, accepted=True)], db.catalog(), now=NOW, weights=HAND) == []


@pytest.mark.unit
def test_opted_out_member_is_never_suggested(db: Community) -> None:
    hits = [make_hit("m04", f"t{i}", 0.9, accepted=True, post_score=50) for i in range(3)]
    hits.append(make_hit("m01", "t9", 0.35))
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND)) == ["m01"]
    assert "m04" not in ids(suggest_experts(hits, db.catalog(), k=10, now=NOW))  # the shipped ranker


@pytest.mark.unit
def test_evidence_is_distinct_best_first_and_capped(db: Community) -> None:
    hits = [make_hit("m01", f"t{i}", 0.3 + i / 10) for i in range(5)]
    hits += [make_hit("m01", "t4", 0.65, role="question"), make_hit("m01", "r1", 0.55, kind="resource")]
    [expert] = suggest_experts(hits, db.catalog(), k=5, now=NOW, weights=HAND)
    assert [e.doc_id for e in expert.evidence] == ["t4", "t3", "r1"]
    assert expert.evidence[0].role == "answer" and expert.evidence[2].role == "author"
    assert expert.name == "Ada"


@pytest.mark.unit
def test_whole_thread_is_evidence_for_its_contributors(db: Community) -> None:
    db.add_post("t1", "m02", "question", "2025-05-01T00:00:00Z")
    db.add_post("t1", "m01", "accepted", "2025-05-02T00:00:00Z")
    asked = [make_hit("m02", "t1", 0.7, role="question")]
    [first, second] = suggest_experts(asked, db.catalog(), now=NOW, weights=HAND)
    assert (first.member_id, second.member_id) == ("m01", "m02")  # the answer was not retrieved, the thread was
    [evidence] = first.evidence
    assert (evidence.doc_id, evidence.post_id, evidence.role) == ("t1", "t1-m01-accepted", "accepted")
    assert evidence.created_at == "2025-05-02T00:00:00Z" and evidence.relevance == 0.7
    db.add_post("t1", "m03", "answer", "2026-02-01T00:00:00Z")  # after "now": not evidence yet
    assert "m03" not in ids(suggest_experts(asked, db.catalog(), now=NOW, weights=HAND))


@pytest.mark.unit
def test_recently_active_member_is_preferred(db: Community) -> None:
    hits = [make_hit("m01", "t1", 0.6), make_hit("m02", "t2", 0.6)]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND)) == ["m01", "m02"]  # a tie, broken by id
    for i in range(3):
        db.add_post(f"a{i}", "m02", "answer", "2025-12-20T00:00:00Z")
    db.add_post("late", "m01", "answer", "2026-01-05T00:00:00Z")  # after "now": not yet happened
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND)) == ["m02", "m01"]


@pytest.mark.unit
def test_activity_does_not_lift_near_chance_evidence(db: Community) -> None:
    for i in range(8):
        db.add_post(f"a{i}", "m03", "answer", "2025-12-20T00:00:00Z")
    hits = [make_hit("m03", f"t{i}", 0.31) for i in range(5)] + [make_hit("m01", "t9", 0.7, accepted=True)]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND)) == ["m01", "m03"]
    # chance level: no evidence at all
    assert suggest_experts([make_hit("m03", "t1", 0.3)], db.catalog(), now=NOW, weights=HAND) == []


@pytest.mark.unit
def test_activity_counts_only_where_the_asker_may_look(db: Community) -> None:
    for i in range(3):
        db.add_post(f"p{i}", "m02", "answer", "2025-12-20T00:00:00Z", group="mentors")
    hits = [make_hit("m01", "t1", 0.6), make_hit("m02", "t2", 0.6)]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=HAND)) == ["m01", "m02"]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, groups=("members",), weights=HAND)) == ["m01", "m02"]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, groups=("mentors",), weights=HAND)) == ["m02", "m01"]


@pytest.mark.integration
@pytest.mark.parametrize("question", STING_QUESTIONS)
def test_opted_out_member_never_suggested_on_his_topic(library: Library, question: str) -> None:
    for groups in ((), ("mentors",)):
        hits = library.searcher().search(question, k=50, groups=groups, collapse=False)
        assert any(h.author == "m13" for h in hits)  # he wrote about it: the test is meaningful
        assert "m13" not in ids(library.experts(question, groups=groups, k=10))
        assert "m13" not in ids(library.ask(question, groups=groups, k_experts=10).experts)


@pytest.mark.integration
def test_finds_the_varroa_expert(library: Library) -> None:
    experts = library.experts("When should I treat with oxalic acid against varroa mites?", k=3)
    assert "m01" in ids(experts)
    for expert in experts:
        assert 1 <= len(expert.evidence) <= 3
        assert len({e.doc_id for e in expert.evidence}) == len(expert.evidence)
        contributions = [e.score for e in expert.evidence]
        assert contributions == sorted(contributions, reverse=True)


@pytest.mark.integration
def test_evidence_only_from_what_the_asker_may_see(library: Library) -> None:
    private = private_ids(library.snapshot().catalog)
    question = "Who is negotiating the Quarry Lane lease and the mentor stipend?"
    outside = library.experts(question, k=10)
    assert not {e.doc_id for x in outside for e in x.evidence} & private
    inside = library.experts(question, groups=("mentors",), k=10)
    assert {e.doc_id for x in inside for e in x.evidence} & private


@pytest.mark.integration
def test_experts_are_deterministic(library: Library) -> None:
    question = "How do I render wax from cappings?"
    assert library.experts(question) == library.experts(question)


LEADERS = replace(DEFAULT_WEIGHTS, prior_candidates=2)


@pytest.mark.unit
def test_leading_answerers_are_candidates_without_evidence(db: Community) -> None:
    hits = [make_hit("m01", "t1", 0.6)]
    assert ids(suggest_experts(hits, db.catalog(), now=NOW, weights=replace(LEADERS, prior_candidates=0))) == ["m01"]
    found = suggest_experts(hits, db.catalog(), now=NOW, weights=LEADERS)
    assert ids(found)[0] == "m01" and "m03" in ids(found)  # m03 answered 200 threads, none of them retrieved
    leader = next(e for e in found if e.member_id == "m03")
    assert leader.evidence == [] and leader.why is not None and leader.why.answers_total == 200
    assert suggest_experts([make_hit("m01", "t1", 0.2)], db.catalog(), now=NOW, weights=LEADERS) == []


@pytest.mark.unit
def test_leaders_never_include_opted_out_or_private_answerers(db: Community) -> None:
    for i in range(300):
        db.add_post(f"o{i}", "m04", "answer", None)
        db.add_post(f"p{i}", "m02", "answer", None, group="mentors")
    hits = [make_hit("m01", "t1", 0.6)]
    public = ids(suggest_experts(hits, db.catalog(), now=NOW, weights=LEADERS))
    assert "m04" not in public and "m02" not in public
    assert "m02" in ids(suggest_experts(hits, db.catalog(), now=NOW, groups=("mentors",), weights=LEADERS))


@pytest.mark.unit
def test_a_comment_is_weak_evidence_and_no_answer(db: Community) -> None:
    db.add_post("t1", "m02", "question", "2025-05-01T00:00:00Z")
    db.add_post("t1", "m01", "comment", "2025-05-02T00:00:00Z")
    db.add_post("t1", "m03", "answer", "2025-05-03T00:00:00Z")
    weights = replace(DEFAULT_WEIGHTS, recent=0.0, received=0.0, volume=0.0)
    found = suggest_experts([make_hit("m01", "t1", 0.7, role="comment")], db.catalog(), now=NOW, weights=weights)
    assert ids(found) == ["m03", "m02", "m01"]  # the answer, the question, then the comment
    commenter = found[-1]
    assert commenter.evidence[0].role == "comment" and commenter.why is not None
    assert commenter.why.answered == 0 and commenter.why.answers_total == 1  # his one answer: "d"


RECENT = replace(DEFAULT_WEIGHTS, prior_candidates=0, recent_candidates=1)


@pytest.mark.unit
def test_recent_answerers_are_candidates_measured_from_the_index_last_weeks(db: Community) -> None:
    db.add_post("n1", "m02", "answer", "2025-12-01T00:00:00Z")  # the index's last activity
    db.add_post("n2", "m02", "answer", "2025-11-20T00:00:00Z")
    db.add_post("n0", "m01", "answer", "2025-01-01T00:00:00Z")
    hits = [make_hit("m01", "n0", 0.6, created_at="2025-01-01T00:00:00Z")]
    assert "m02" not in ids(suggest_experts(hits, db.catalog(), now=NOW, weights=replace(RECENT, recent_candidates=0)))
    # asked a month after the index's last activity: its last 30 days still count, not the empty window before NOW
    assert "m02" in ids(suggest_experts(hits, db.catalog(), now=NOW, weights=RECENT))
    assert "m02" in ids(suggest_experts(hits, db.catalog(), weights=RECENT))  # serving clock: the same last weeks
    assert "m02" not in ids(suggest_experts(hits, db.catalog(), now=datetime(2025, 6, 1, tzinfo=UTC), weights=RECENT))


@pytest.mark.unit
def test_private_recent_answers_make_no_candidate_for_outsiders(db: Community) -> None:
    db.add_post("n0", "m01", "answer", "2025-12-01T00:00:00Z")
    for i in range(3):
        db.add_post(f"p{i}", "m02", "answer", "2025-12-10T00:00:00Z", group="mentors")
    hits = [make_hit("m01", "n0", 0.6, created_at="2025-12-01T00:00:00Z")]
    weights = replace(RECENT, recent_candidates=5)
    assert "m02" not in ids(suggest_experts(hits, db.catalog(), now=NOW, weights=weights))
    assert "m02" in ids(suggest_experts(hits, db.catalog(), now=NOW, groups=("mentors",), weights=weights))


@pytest.mark.unit
def test_the_askers_own_replies_are_part_of_the_question_not_answers() -> None:
    from retrieval.records import Post, post_role

    def post(author: str, accepted: bool = False, comment: bool = False) -> Post:
        return Post(id=f"p-{author}", thread_id="t1", author=author, created_at=None, text="x", accepted=accepted,
                    comment=comment)

    assert post_role(0, post("m1"), "m1") == "question"
    assert post_role(1, post("m2"), "m1") == "answer"
    assert post_role(2, post("m1"), "m1") == "question"  # "thanks, that worked" is no answer
    assert post_role(2, post("m1", accepted=True), "m1") == "accepted"  # an accepted self-answer stays one
    assert post_role(2, post("m1", comment=True), "m1") == "comment"


@pytest.mark.integration
def test_a_newcomer_replying_in_his_own_threads_is_no_leading_expert(library: Library) -> None:
    """m15 (a mentee in the sample) asked many threads and replied in them; those replies once
    counted as answers and put him first for questions he had only asked about."""
    found = library.experts("Should I feed 1:1 or 2:1 syrup in autumn?", k=5)
    assert found and found[0].member_id != "m15", [(e.member_id, e.why) for e in found]
    for e in found:
        assert all(item.role != "answer" or item.doc_id not in {"sm-004", "sm-014", "hv-011"} or e.member_id != "m15"
                   for item in e.evidence)
