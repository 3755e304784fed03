"""The greedy MMR of :func:`retrieval.answer.selection.select` keeps each candidate's overlap
with the chosen sentences up to date instead of recomputing it every step: it must choose
exactly what the definition (recompute against every chosen sentence) chooses."""

from __future__ import annotations

import random

import pytest

from retrieval.answer.selection import Tuning, jaccard, newer, overlaps, select, source_key
from retrieval.search import Hit
from retrieval.sentences import Sentence

pytestmark = pytest.mark.unit
WORDS = "hive queen brood frame super varroa mite winter swarm honey feed syrup entrance wax comb".split()


def by_definition(pool: list[Sentence], t: Tuning) -> list[Sentence]:
    """The MMR as specified: each step scores every remaining sentence against all chosen."""
    chosen: list[Sentence] = []
    remaining = sorted(pool, key=lambda s: (-s.score, s.hit.doc_id, s.start))
    while remaining and len(chosen) < t.max_sentences:
        best = max(remaining, key=lambda s: s.score - t.mmr_penalty * max((jaccard(s, c) for c in chosen), default=0))
        remaining.remove(best)
        if chosen and best.score < t.keep_quoted * chosen[0].score:
            break
        sources = {source_key(c) for c in chosen}
        if chosen and best.score < t.keep_fraction * chosen[0].score and source_key(best) not in sources:
            continue
        if any(overlaps(best, c) for c in chosen):
            continue
        twin = next((c for c in chosen if jaccard(best, c) >= t.redundant), None)
        if twin is not None:
            if newer(best, twin) and (best.hit.doc_id, best.hit.post_id) != (twin.hit.doc_id, twin.hit.post_id):
                chosen[chosen.index(twin)] = best
            continue
        if source_key(best) not in sources and len(sources) >= t.max_sources:
            continue
        if sum(len(c.text) for c in chosen) + len(best.text) <= t.max_chars or not chosen:
            chosen.append(best)
    return chosen


def sentence(rng: random.Random, i: int) -> Sentence:
    doc, post = f"t{rng.randrange(4)}", rng.randrange(3)
    terms = frozenset(rng.sample(WORDS, rng.randrange(1, 6)))
    text = " ".join(sorted(terms)) + f" {i}."
    hit = Hit(chunk_id=i, doc_id=doc, kind="thread", post_id=f"{doc}-p{post}", title=doc, channel="", url="",
              section="", text=text, start=0, end=len(text), author="m1", author_name="m1",
              created_at=f"2024-0{rng.randrange(1, 10)}-01T00:00:00Z", score=0.0, similarity=0.5)
    start = rng.randrange(0, 400, 40)
    return Sentence(hit=hit, text=text, start=start, end=start + len(text), terms=terms, source=text, base=0,
                    score=rng.choice([0.3, 0.5, 0.8, 1.0]) * rng.uniform(0.5, 1.0))


@pytest.mark.parametrize("seed", range(60))
def test_select_chooses_what_the_definition_chooses(seed: int) -> None:
    rng = random.Random(seed)
    pool = [sentence(rng, i) for i in range(rng.randrange(1, 40))]
    t = Tuning(max_sources=rng.choice([1, 2, 3]), max_chars=rng.choice([120, 1600]), redundant=rng.choice([0.3, 0.5]))
    assert [id(s) for s in select(pool, t)] == [id(s) for s in by_definition(pool, t)]


def test_a_newer_near_duplicate_replaces_its_twin_and_later_picks_see_the_change() -> None:
    rng = random.Random(1)
    old, new, other = (sentence(rng, i) for i in range(3))
    old.terms = new.terms = frozenset({"queen", "brood", "frame"})
    other.terms = frozenset({"queen", "syrup", "feed", "winter"})
    old.hit.doc_id, new.hit.doc_id, other.hit.doc_id = "t1", "t2", "t1"
    old.hit.post_id, new.hit.post_id, other.hit.post_id = "t1-p1", "t2-p1", "t1-p1"
    old.hit.created_at, new.hit.created_at = "2020-01-01T00:00:00Z", "2024-01-01T00:00:00Z"
    old.score, new.score, other.score = 1.0, 0.9, 0.85
    other.start, other.end = 500, 540
    t = Tuning(max_sources=3)
    chosen = select([old, new, other], t)
    assert chosen == by_definition([old, new, other], t) and new in chosen and old not in chosen
