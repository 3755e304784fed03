"""Contract of :class:`retrieval.storage.VectorIndex` (and its builder), for every backend."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.filters import Filters, admits
from retrieval.index import IndexDir, Snapshot
from tests.contract.cases import FILTER_CASES
from tests.contract.world import DOCUMENTS, GROUP_SETS, HashingEmbedder, entries_of, thread, write

pytestmark = pytest.mark.unit
EMBEDDER = HashingEmbedder()


def query(text: str) -> np.ndarray:
    return EMBEDDER.embed([text])[0]


def test_empty_index_finds_nothing(empty: Snapshot) -> None:
    assert len(empty.vectors) == 0
    assert empty.vectors.search(query("hive"), 10, Filters(), ()) == []
    assert empty.vectors.search(query("hive"), 10, Filters(channel="general"), ("mentors",)) == []


def test_scores_are_cosines_best_first(world: Snapshot) -> None:
    found = world.vectors.search(query("varroa mites in winter"), 5, Filters(), ())
    assert len(found) == 5
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True)
    stored = world.vectors.vectors([i for i, _ in found])
    assert np.allclose(stored @ query("varroa mites in winter"), scores, atol=1e-4)
    best = world.catalog.chunks([found[0][0]], ())[found[0][0]]
    assert best.doc_id == "t-pub-1"


def test_vectors_are_the_ones_written(world: Snapshot) -> None:
    entries = entries_of(DOCUMENTS)
    stored = world.vectors.vectors([e.id for e in entries])
    assert stored.shape == (len(entries), world.vectors.dimension)
    assert np.allclose(stored, EMBEDDER.embed([e.text for e in entries]), atol=1e-5)
    assert len(world.vectors) == len(entries)
    with pytest.raises(KeyError):
        world.vectors.vectors([12345])


@pytest.mark.parametrize("groups", GROUP_SETS)
@pytest.mark.parametrize("where", FILTER_CASES)
def test_filters_and_visibility_select_exactly_the_admitted_chunks(
    world: Snapshot, where: Filters, groups: tuple[str, ...],
) -> None:
    expected = {e.id for e in entries_of(DOCUMENTS) if admits(where, e, groups)}
    found = world.vectors.search(query("hive"), 100, where, groups)
    assert {i for i, _ in found} == expected
    assert len(found) == len(expected)


@pytest.mark.parametrize("groups", GROUP_SETS)
@pytest.mark.parametrize("where", FILTER_CASES)
def test_many_questions_at_once_find_what_each_finds_alone(
    world: Snapshot, where: Filters, groups: tuple[str, ...],
) -> None:
    questions = ["varroa mites in winter", "Quarry Lane lease", "hive", "a recipe for pancakes"]
    vectors = np.stack([query(q) for q in questions])
    for k in (1, 3):
        alone = [world.vectors.search(v, k, where, groups) for v in vectors]
        together = world.vectors.search_many(vectors, k, where, groups)
        assert [[i for i, _ in row] for row in together] == [[i for i, _ in row] for row in alone]
        assert np.allclose([s for row in together for _, s in row], [s for row in alone for _, s in row], atol=1e-5)


def test_a_filter_applies_before_the_top_k(world: Snapshot) -> None:
    # the public resources are far from this question, yet two of them fill a page of two
    found = world.vectors.search(query("varroa mites in winter"), 2, Filters(kind="resource"), ())
    assert len(found) == 2
    kinds = {world.catalog.chunks([i], ())[i].kind for i, _ in found}
    assert kinds == {"resource"}


def test_private_chunks_never_reach_outsiders_even_when_closest(world: Snapshot) -> None:
    private = {e.id for e in entries_of(DOCUMENTS) if e.groups}
    for groups in [(), ("members",), ("nobody",)]:
        found = world.vectors.search(query("Quarry Lane lease mentor stipend"), 100, Filters(), groups)
        assert found and not {i for i, _ in found} & private
    inside = world.vectors.search(query("Quarry Lane lease"), 1, Filters(), ("mentors",))
    assert inside[0][0] in private


def test_add_remove_and_replace(index_dir: IndexDir) -> None:
    write(index_dir, DOCUMENTS)
    changed = thread("t-pub-2", "harvest", "forum", ("honey",), (), [
        ("m02", "2025-07-01", "When is honey ready to extract from the hive?"),
        ("m01", "2025-07-02", "Wait until a bee escape board has cleared the hive."),
        ("m03", "2025-07-04", "Shake a frame over the hive: no nectar drips means ready."),
    ], "Ready to extract")
    write(index_dir, [changed], remove=["t-pub-1"])
    snapshot = index_dir.open(EMBEDDER.model_id)
    now = entries_of([d for d in DOCUMENTS if d.id not in ("t-pub-1", "t-pub-2")] + [changed])
    assert len(snapshot.vectors) == len(now)
    found = snapshot.vectors.search(query("hive"), 100, Filters(), ("mentors", "board"))
    assert {i for i, _ in found} == {e.id for e in now}
    replaced = next(e for e in now if e.doc_id == "t-pub-2" and "escape" in e.text)
    assert np.allclose(snapshot.vectors.vectors([replaced.id])[0], query(replaced.text), atol=1e-5)
    snapshot.close()


def test_swap_is_atomic_for_open_readers(index_dir: IndexDir) -> None:
    write(index_dir, DOCUMENTS)
    before = index_dir.open(EMBEDDER.model_id)
    ids_before = {i for i, _ in before.vectors.search(query("hive"), 100, Filters(), ())}
    write(index_dir, [], remove=["t-pub-1", "r-pub"])
    assert {i for i, _ in before.vectors.search(query("hive"), 100, Filters(), ())} == ids_before
    after = index_dir.open(EMBEDDER.model_id)
    assert len(after.vectors) == len(before.vectors) - 4
    with pytest.raises(RuntimeError), index_dir.lock():  # a failed ingest changes nothing
        from retrieval.writer import SnapshotWriter

        with SnapshotWriter(index_dir, EMBEDDER.model_id, EMBEDDER.model_name, EMBEDDER.dimension) as writer:
            writer.delete_documents(["t-pub-2"])
            raise RuntimeError("crash before commit")
    again = index_dir.open(EMBEDDER.model_id)
    assert len(again.vectors) == len(after.vectors)
    for snapshot in (before, after, again):
        snapshot.close()
