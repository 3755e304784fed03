"""The Milvus backend's two ways of filtering visibility and its two ways of counting a word,
on the contract world in milvus-lite: each pair must select exactly the same rows.

- ``audience in [...]`` (what new collections use: a scalar the engine answers from an index)
  against ``array_contains_any(groups, ...)`` (what collections written before the ``audience``
  field keep using), for every group set and filter case;
- a document frequency from a BM25 probe against ``TEXT_MATCH`` (the fallback for words
  commoner than the probe).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from retrieval.backends import BackendConfig
from retrieval.backends import milvus as milvus_backend
from retrieval.backends.milvus_collection import PUBLIC, audience_key, expression, read_meta, visible_audiences
from retrieval.filters import Filters
from retrieval.index import IndexDir, Snapshot
from tests.contract.cases import FILTER_CASES
from tests.contract.world import DOCUMENTS, EVERYWHERE, GROUP_SETS, HashingEmbedder, entries_of, write

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> IndexDir:
    scratch = tmp_path_factory.mktemp("milvus-filters")
    index_dir = IndexDir(scratch / "index", BackendConfig("milvus", {"milvus": {"uri": str(scratch / "milvus.db")}}))
    write(index_dir, DOCUMENTS)
    return index_dir


@pytest.fixture(scope="module")
def world(index_dir: IndexDir) -> Iterator[Snapshot]:
    snapshot = index_dir.open(HashingEmbedder.model_id)
    yield snapshot
    snapshot.close()


def chunks_where(snapshot: Snapshot, expr: str) -> set[int]:
    reader = snapshot.vectors
    rows = reader.client.query(reader.collection, filter=expr, output_fields=["chunk"], limit=1000)  # type: ignore[attr-defined]
    return {int(r["chunk"]) for r in rows}


def test_the_snapshot_lists_every_audience_its_rows_carry(world: Snapshot) -> None:
    audiences = read_meta(world.path)["audiences"]
    assert sorted(audiences) == sorted({audience_key(e.groups) for e in entries_of(DOCUMENTS)})
    assert PUBLIC in audiences
    assert audience_key(("mentors", "board", "mentors")) == audience_key(("board", "mentors"))


def test_a_caller_sees_public_and_every_audience_sharing_a_group(world: Snapshot) -> None:
    audiences = read_meta(world.path)["audiences"]
    assert visible_audiences(audiences, ()) == [PUBLIC]
    assert set(visible_audiences(audiences, ("board",))) == {PUBLIC, audience_key(("board", "mentors"))}
    assert set(visible_audiences(audiences, ("mentors", "nobody"))) == {
        PUBLIC, audience_key(("mentors",)), audience_key(("board", "mentors"))}


@pytest.mark.parametrize("where", FILTER_CASES)
@pytest.mark.parametrize("groups", GROUP_SETS, ids=lambda g: "+".join(g) or "anonymous")
def test_audience_and_array_filters_select_the_same_rows(world: Snapshot, where: Filters,
                                                         groups: tuple[str, ...]) -> None:
    generation = int(read_meta(world.path)["generation"])
    audiences = read_meta(world.path)["audiences"]
    by_audience = chunks_where(world, expression(generation, where, groups, audiences))
    by_array = chunks_where(world, expression(generation, where, groups, None))
    assert by_audience == by_array
    allowed = {e.id for e in entries_of(DOCUMENTS) if not e.groups or set(e.groups) & set(groups)}
    assert by_audience <= allowed


@pytest.mark.parametrize("word", [EVERYWHERE, "quarry", "winter", "Honey", "zeppelin", "stipend budget"])
def test_probed_and_text_match_document_frequencies_agree(index_dir: IndexDir, world: Snapshot, word: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    probed = world.lexical.document_frequency(word)
    reopened = index_dir.open(HashingEmbedder.model_id)  # a new reader: nothing counted yet
    try:
        monkeypatch.setattr(milvus_backend, "probe_limit", lambda rows: 1)  # every word found goes to TEXT_MATCH
        counted = reopened.lexical.document_frequency(word)
    finally:
        reopened.close()
    tokens = set(re.findall(r"\w+", word.lower()))
    expected = sum(bool(tokens & set(re.findall(r"\w+", e.text.lower()))) for e in entries_of(DOCUMENTS))
    assert probed == counted == expected
