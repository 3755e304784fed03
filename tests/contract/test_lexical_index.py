"""Contract of :class:`retrieval.storage.LexicalIndex` (and its builder), for every backend."""

from __future__ import annotations

import pytest

from retrieval.filters import Filters, admits
from retrieval.index import IndexDir, Snapshot
from tests.contract.cases import FILTER_CASES
from tests.contract.world import DOCUMENTS, EVERYWHERE, GROUP_SETS, HashingEmbedder, entries_of, thread, write

pytestmark = pytest.mark.unit
EVERYONE = ("mentors", "board")


def test_empty_index_finds_nothing(empty: Snapshot) -> None:
    assert empty.lexical.count() == 0
    assert empty.lexical.search("hive", 10, Filters(), ()) == []
    assert empty.lexical.document_frequency("hive") == 0


def test_the_chunk_holding_a_rare_word_comes_first(world: Snapshot) -> None:
    found = world.lexical.search("refractometer reading", 3, Filters(), ())
    assert found
    best = world.catalog.chunks([found[0][0]], ())[found[0][0]]
    assert "refractometer" in best.body
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("text", ["", "the and of", '"AND" OR (NOT', "?!"])
def test_questions_without_searchable_words_find_nothing(world: Snapshot, text: str) -> None:
    assert world.lexical.search(text, 10, Filters(), ()) == []


@pytest.mark.parametrize("groups", GROUP_SETS)
@pytest.mark.parametrize("where", FILTER_CASES)
def test_filters_and_visibility_select_exactly_the_admitted_chunks(
    world: Snapshot, where: Filters, groups: tuple[str, ...],
) -> None:
    expected = {e.id for e in entries_of(DOCUMENTS) if admits(where, e, groups)}
    found = world.lexical.search(EVERYWHERE, 100, where, groups)
    assert {i for i, _ in found} == expected
    assert len(found) == len(expected)


def test_a_filter_applies_before_the_top_k(world: Snapshot) -> None:
    found = world.lexical.search("winter varroa hive", 2, Filters(kind="resource"), ())
    assert len(found) == 2
    assert {world.catalog.chunks([i], ())[i].kind for i, _ in found} == {"resource"}


def test_private_chunks_never_reach_outsiders_even_when_best(world: Snapshot) -> None:
    private = {e.id for e in entries_of(DOCUMENTS) if e.groups}
    for groups in [(), ("members",), ("nobody",)]:
        found = world.lexical.search("Quarry Lane lease stipend hive", 100, Filters(), groups)
        assert found and not {i for i, _ in found} & private
    inside = world.lexical.search("Quarry Lane lease", 1, Filters(), ("mentors",))
    assert inside[0][0] in private


def test_counts_cover_every_chunk_whatever_its_visibility(world: Snapshot) -> None:
    entries = entries_of(DOCUMENTS)
    assert world.lexical.count() == len(entries)
    assert world.lexical.document_frequency(EVERYWHERE) == len(entries)
    assert world.lexical.document_frequency("quarry") == sum("Quarry" in e.text for e in entries)
    assert world.lexical.document_frequency("zeppelin") == 0


def test_add_remove_and_replace(index_dir: IndexDir) -> None:
    write(index_dir, DOCUMENTS)
    changed = thread("t-pub-2", "harvest", "forum", ("honey",), (), [
        ("m02", "2025-07-01", "When is honey ready to extract from the hive?"),
        ("m01", "2025-07-02", "Wait until a bee escape board has cleared the hive."),
    ], "Ready to extract")
    write(index_dir, [changed], remove=["t-pub-1"])
    snapshot = index_dir.open(HashingEmbedder.model_id)
    now = entries_of([d for d in DOCUMENTS if d.id not in ("t-pub-1", "t-pub-2")] + [changed])
    assert snapshot.lexical.count() == len(now)
    assert {i for i, _ in snapshot.lexical.search(EVERYWHERE, 100, Filters(), EVERYONE)} == {e.id for e in now}
    assert snapshot.lexical.search("varroa", 10, Filters(), ()) == []  # removed
    assert snapshot.lexical.search("refractometer", 10, Filters(), ()) == []  # replaced text
    [(escape, _)] = snapshot.lexical.search("escape", 10, Filters(), ())
    assert snapshot.catalog.chunks([escape], ())[escape].doc_id == "t-pub-2"
    snapshot.close()


def test_swap_is_atomic_for_open_readers(index_dir: IndexDir) -> None:
    write(index_dir, DOCUMENTS)
    before = index_dir.open(HashingEmbedder.model_id)
    write(index_dir, [], remove=["t-pub-1"])
    assert before.lexical.search("varroa", 10, Filters(), ())  # the open snapshot never changes
    after = index_dir.open(HashingEmbedder.model_id)
    assert after.lexical.search("varroa", 10, Filters(), ()) == []
    assert after.lexical.count() == before.lexical.count() - 3
    before.close()
    after.close()
