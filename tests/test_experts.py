"""Expert suggestions (Balog model 2 with an activity prior): roles, recency, volume, thread
contributors, recent activity, opt-outs, and evidence and activity only from what the asker sees."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from retrieval.experts import Expert, suggest_experts
from retrieval.library import Library
from retrieval.schema import SCHEMA
from retrieval.search import Hit

NOW = datetime(2026, 1, 1, tzinfo=UTC)
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


def add_document(conn: sqlite3.Connection, doc_id: str, group: str | None = None) -> None:
    """An undated thread document, public unless ``group`` is given."""
    conn.execute(
        "INSERT INTO documents (id, kind, source, source_path, title, is_public, content_hash) "
        "VALUES (?, 'thread', 'test', 'test', ?, ?, 'h')", (doc_id, f"Title {doc_id}", int(group is None)))
    if group:
        conn.execute("INSERT INTO doc_groups VALUES (?, ?)", (doc_id, group))


def add_post(conn: sqlite3.Connection, doc_id: str, author: str, role: str, created_at: str, score: int = 0) -> None:
    """A post and its authorship row (``role``: question, answer or accepted)."""
    post_id = f"{doc_id}-{author}-{role}"
    position = 0 if role == "question" else 1 + conn.execute("SELECT count(*) FROM posts WHERE doc_id = ?",
                                                             (doc_id,)).fetchone()[0]
    conn.execute("INSERT INTO posts (id, doc_id, position, author, created_at, text, accepted, score) "
                 "VALUES (?, ?, ?, ?, ?, '...', ?, ?)", (post_id, doc_id, position, author, created_at,
                                                          int(role == "accepted"), score))
    conn.execute("INSERT INTO authorship VALUES (?, ?, ?, ?)", (doc_id, post_id, author, role))


@pytest.fixture
def db() -> sqlite3.Connection:
    """An in-memory index database with four members; m04 opted out; m03 wrote in 200 (undated)
    threads, so volume but no recent activity."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO members (id, name, opt_out) VALUES (?, ?, ?)",
                     [("m01", "Ada", 0), ("m02", "Bo", 0), ("m03", "Cy", 0), ("m04", "Di", 1)])
    for doc_id in [f"d{i}" for i in range(200)] + ["d"]:
        add_document(conn, doc_id)
    rows = [(f"d{i}", None, "m03", "answer") for i in range(200)]
    rows += [("d", None, "m01", "answer"), ("d", None, "m02", "answer")]
    conn.executemany("INSERT INTO authorship VALUES (?, ?, ?, ?)", rows)
    return conn


def ids(experts: list[Expert]) -> list[str]:
    return [e.member_id for e in experts]


@pytest.mark.unit
def test_accepted_answer_outranks_question(db: sqlite3.Connection) -> None:
    hits = [make_hit("m01", "t1", 0.6, role="question"), make_hit("m02", "t1", 0.6, accepted=True)]
    assert ids(suggest_experts(hits, db, now=NOW)) == ["m02", "m01"]


@pytest.mark.unit
def test_recent_help_counts_more(db: sqlite3.Connection) -> None:
    hits = [make_hit("m01", "t1", 0.6, created_at="2019-01-01T00:00:00Z"), make_hit("m02", "t2", 0.6)]
    assert ids(suggest_experts(hits, db, now=NOW)) == ["m02", "m01"]


@pytest.mark.unit
def test_volume_alone_does_not_win(db: sqlite3.Connection) -> None:
    hits = [make_hit("m03", f"t{i}", 0.35) for i in range(5)] + [make_hit("m01", "t9", 0.7, accepted=True)]
    assert ids(suggest_experts(hits, db, now=NOW))[0] == "m01"


@pytest.mark.unit
def test_chance_level_hits_are_no_evidence(db: sqlite3.Connection) -> None:
    assert suggest_experts([make_hit("m01", "t1", 0.2, accepted=True)], db, now=NOW) == []


@pytest.mark.unit
def test_opted_out_member_is_never_suggested(db: sqlite3.Connection) -> None:
    hits = [make_hit("m04", f"t{i}", 0.9, accepted=True, post_score=50) for i in range(3)]
    hits.append(make_hit("m01", "t9", 0.35))
    assert ids(suggest_experts(hits, db, now=NOW)) == ["m01"]


@pytest.mark.unit
def test_evidence_is_distinct_best_first_and_capped(db: sqlite3.Connection) -> None:
    hits = [make_hit("m01", f"t{i}", 0.3 + i / 10) for i in range(5)]
    hits += [make_hit("m01", "t4", 0.65, role="question"), make_hit("m01", "r1", 0.55, kind="resource")]
    [expert] = suggest_experts(hits, db, k=5, now=NOW)
    assert [e.doc_id for e in expert.evidence] == ["t4", "t3", "r1"]
    assert expert.evidence[0].role == "answer" and expert.evidence[2].role == "author"
    assert expert.name == "Ada"


@pytest.mark.unit
def test_whole_thread_is_evidence_for_its_contributors(db: sqlite3.Connection) -> None:
    add_document(db, "t1")
    add_post(db, "t1", "m02", "question", "2025-05-01T00:00:00Z")
    add_post(db, "t1", "m01", "accepted", "2025-05-02T00:00:00Z")
    [first, second] = suggest_experts([make_hit("m02", "t1", 0.7, role="question")], db, now=NOW)
    assert (first.member_id, second.member_id) == ("m01", "m02")  # the answer was not retrieved, the thread was
    [evidence] = first.evidence
    assert (evidence.doc_id, evidence.post_id, evidence.role) == ("t1", "t1-m01-accepted", "accepted")
    assert evidence.created_at == "2025-05-02T00:00:00Z" and evidence.relevance == 0.7
    add_post(db, "t1", "m03", "answer", "2026-02-01T00:00:00Z")  # after "now": not evidence yet
    assert "m03" not in ids(suggest_experts([make_hit("m02", "t1", 0.7, role="question")], db, now=NOW))


@pytest.mark.unit
def test_recently_active_member_is_preferred(db: sqlite3.Connection) -> None:
    hits = [make_hit("m01", "t1", 0.6), make_hit("m02", "t2", 0.6)]
    assert ids(suggest_experts(hits, db, now=NOW)) == ["m01", "m02"]  # a tie, broken by id
    for i in range(3):
        add_document(db, f"a{i}")
        add_post(db, f"a{i}", "m02", "answer", "2025-12-20T00:00:00Z")
    add_document(db, "late")
    add_post(db, "late", "m01", "answer", "2026-01-05T00:00:00Z")  # after "now": not yet happened
    assert ids(suggest_experts(hits, db, now=NOW)) == ["m02", "m01"]


@pytest.mark.unit
def test_activity_does_not_lift_near_chance_evidence(db: sqlite3.Connection) -> None:
    for i in range(8):
        add_document(db, f"a{i}")
        add_post(db, f"a{i}", "m03", "answer", "2025-12-20T00:00:00Z")
    hits = [make_hit("m03", f"t{i}", 0.31) for i in range(5)] + [make_hit("m01", "t9", 0.7, accepted=True)]
    assert ids(suggest_experts(hits, db, now=NOW)) == ["m01", "m03"]
    assert suggest_experts([make_hit("m03", "t1", 0.3)], db, now=NOW) == []  # chance level: no evidence at all


@pytest.mark.unit
def test_activity_counts_only_where_the_asker_may_look(db: sqlite3.Connection) -> None:
    for i in range(3):
        add_document(db, f"p{i}", group="mentors")
        add_post(db, f"p{i}", "m02", "answer", "2025-12-20T00:00:00Z")
    hits = [make_hit("m01", "t1", 0.6), make_hit("m02", "t2", 0.6)]
    assert ids(suggest_experts(hits, db, now=NOW)) == ["m01", "m02"]
    assert ids(suggest_experts(hits, db, now=NOW, groups=("members",))) == ["m01", "m02"]
    assert ids(suggest_experts(hits, db, now=NOW, groups=("mentors",))) == ["m02", "m01"]


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
    db = library.snapshot().db
    private = {r[0] for r in db.execute("SELECT id FROM documents WHERE is_public = 0")}
    question = "Who is negotiating the Quarry Lane lease and the mentor stipend?"
    outside = library.experts(question, k=10)
    assert not {e.doc_id for x in outside for e in x.evidence} & private
    inside = library.experts(question, groups=("mentors",), k=10)
    assert {e.doc_id for x in inside for e in x.evidence} & private


@pytest.mark.integration
def test_experts_are_deterministic(library: Library) -> None:
    question = "How do I render wax from cappings?"
    assert library.experts(question) == library.experts(question)
