"""Members' topical profiles (retrieval/experts_profiles.py) on the real sample index: built
only from what the asker may see, and reaching members no retrieved thread names (issue 13)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from retrieval.experts import suggest_experts
from retrieval.experts_members import MemberStats
from retrieval.experts_profiles import question_tags, tag_score
from retrieval.library import Library
from tests.test_experts import HAND, ids

pytestmark = pytest.mark.integration


def test_a_private_thread_never_shapes_a_public_profile(library: Library) -> None:
    snapshot = library.searcher().snapshot
    public = MemberStats(snapshot.catalog, (), snapshot.vectors).profiles
    mentors = MemberStats(snapshot.catalog, ("mentors",), snapshot.vectors).profiles
    assert public is not None and mentors is not None
    # m13 answers in the mentors-only channel and in public ones
    seen, everything = public.get(["m13"])["m13"], mentors.get(["m13"])["m13"]
    private_tags = {"mentor-rota", "on-call"}
    assert not private_tags & set(seen.tags) and private_tags & set(everything.tags)
    assert float(seen.vector @ everything.vector) < 0.9999
    assert float(np.linalg.norm(seen.vector)) == pytest.approx(1.0, abs=1e-5)


def test_the_closest_profile_joins_the_candidates(library: Library) -> None:
    searcher = library.searcher()
    snapshot, question = searcher.snapshot, "How do I extract honey from the frames without a centrifuge?"
    vector = searcher.question_vector(question)
    stats = MemberStats(snapshot.catalog, (), snapshot.vectors)
    assert stats.profiles is not None
    closest = stats.profiles.closest(vector, 3, HAND.min_similarity)
    # evidence from one thread only, none of whose contributors is among the closest profiles
    found = searcher.search(question, k=100, collapse=False)
    docs = {h.doc_id for h in found}
    outside = docs - {c.doc_id for c in snapshot.catalog.contributions(docs, ()) if c.member_id in closest}
    hits = [h for h in found if h.doc_id in outside and h.author and h.similarity > 0.35][:1]
    assert hits and hits[0].author
    plain = ids(suggest_experts(hits, snapshot.catalog, k=50, stats=stats, weights=HAND, question=vector))
    reach = replace(HAND, profile_candidates=3, history=5.0, half_life_days=float("inf"))  # closest() above: undecayed
    found = ids(suggest_experts(hits, snapshot.catalog, k=50, stats=stats, weights=reach, question=vector))
    assert set(closest) - set(plain)  # without profiles, some of the closest members are missing
    assert set(closest) <= set(found)


def test_question_tags_weigh_documents_by_relevance() -> None:
    shares = question_tags([(0.75, ("varroa", "winter")), (0.25, ("varroa",)), (0.0, ("honey",))])
    assert shares == pytest.approx({"varroa": 1.0, "winter": 0.75, "honey": 0.0})
    assert question_tags([(0.0, ("varroa",))]) == {}


def test_tag_score_counts_answers_carrying_the_questions_tags(library: Library) -> None:
    snapshot = library.searcher().snapshot
    profiles = MemberStats(snapshot.catalog, (), snapshot.vectors).profiles
    assert profiles is not None
    profile = profiles.get(["m03"])["m03"]
    tag, count = profile.tags.most_common(1)[0]
    assert tag_score(profile, {tag: 0.5}) == pytest.approx(count / 2)
    assert tag_score(profile, {"no-such-tag": 1.0}) == 0.0


def test_leaders_share_one_matrix_and_their_history_ranks_the_closest(library: Library) -> None:
    searcher = library.searcher()
    snapshot = searcher.snapshot
    profiles = MemberStats(snapshot.catalog, (), snapshot.vectors).profiles
    assert profiles is not None
    vector = searcher.question_vector("How do I extract honey from the frames without a centrifuge?")
    lead = profiles.leaders()
    mine = profiles.get(lead.ids)
    assert all(p.matrix is lead.matrix for p in mine.values())  # one copy of the vectors
    assert lead.matrix.dtype == np.float32 and len(set(lead.rows.tolist())) == len(lead.matrix)
    clock = library.member_stats(searcher, ()).clock()
    history = {m: p.history(vector, HAND.min_similarity, clock, 30.0) for m, p in mine.items()}
    best = sorted((m for m in history if history[m] > 0), key=lambda m: (-history[m], m))[:3]
    assert best and profiles.closest(vector, 3, HAND.min_similarity, clock, 30.0) == best
    profiles.clear()
    assert not profiles.known
    assert profiles.leaders().ids == lead.ids  # rebuilt on next use


def test_the_library_keeps_profiles_for_a_few_group_sets_only(library: Library) -> None:
    from retrieval.library import PROFILES_KEPT

    searcher = library.searcher()
    sets = [(f"group-{i}",) for i in range(PROFILES_KEPT + 1)]
    kept = [library.member_stats(searcher, g) for g in sets]
    for stats in kept:
        assert stats.profiles is not None
        stats.profiles.get(["m03"])
    library.member_stats(searcher, sets[-1])  # the least recently used set loses its profiles
    assert all(s.profiles is not None for s in kept)
    assert not kept[0].profiles.known  # type: ignore[union-attr]
    assert all(s.profiles.known for s in kept[1:])  # type: ignore[union-attr]
    assert library.member_stats(searcher, sets[0]) is kept[0]  # its member facts stay
