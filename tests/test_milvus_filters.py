"""The Milvus backend's two ways of filtering visibility and its two ways of counting a word,
on the contract world in milvus-lite: each pair must select exactly the same rows.

- ``audience in [...]`` (what new collections use: a scalar the engine answers from an index)
  against ``array_contains_any(groups, ...)`` (what collections written before the ``audience``
  field keep using), for every group set and filter case;
- a document frequency from the snapshot's token table, from a BM25 probe (a snapshot without
  the table, or a word of several tokens) and from ``TEXT_MATCH`` (words commoner than the
  probe), also after an ingest that removes and replaces documents.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from retrieval.backends import BackendConfig
from retrieval.backends import milvus as milvus_backend
from retrieval.backends.milvus_collection import (
    PUBLIC,
    audience_key,
    expression,
    read_meta,
    read_terms,
    visible_audiences,
)
from retrieval.filters import Filters
from retrieval.index import IndexDir, Snapshot
from retrieval.records import Document
from tests.contract.cases import FILTER_CASES
from tests.contract.world import DOCUMENTS, EVERYWHERE, GROUP_SETS, HashingEmbedder, entries_of, write

pytestmark = pytest.mark.integration


def milvus_dir(scratch: Path) -> IndexDir:
    return IndexDir(scratch / "index", BackendConfig("milvus", {"milvus": {"uri": str(scratch / "milvus.db")}}))


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> IndexDir:
    index_dir = milvus_dir(tmp_path_factory.mktemp("milvus-filters"))
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


def holding(word: str, documents: Sequence[Document]) -> int:
    """Chunks of ``documents`` holding any token of ``word`` (runs of word characters, lower case)."""
    wanted = set(re.findall(r"\w+", word.lower()))
    return sum(bool(wanted & set(re.findall(r"\w+", e.text.lower()))) for e in entries_of(documents))


def rarest(word: str, documents: Sequence[Document]) -> int:
    """Chunks of ``documents`` holding the rarest token of ``word`` (0 for a word of none)."""
    return min((holding(token, documents) for token in set(re.findall(r"\w+", word.lower()))), default=0)


def frequencies(index_dir: IndexDir, words: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Per word: from the token table, from a probe, from TEXT_MATCH (a fresh reader each)."""
    found: dict[str, list[int]] = {w: [] for w in words}
    for table, probe in ((True, True), (False, True), (False, False)):
        with monkeypatch.context() as patch:
            if not table:  # a snapshot written before the table was kept
                patch.setattr(milvus_backend, "read_terms", lambda path: None)
            if not probe:  # every word found goes on to TEXT_MATCH
                patch.setattr(milvus_backend, "probe_limit", lambda rows: 1)
            snapshot = index_dir.open(HashingEmbedder.model_id)
            try:
                for w in words:
                    found[w].append(snapshot.lexical.document_frequency(w))
            finally:
                snapshot.close()
    return found


WORDS = [EVERYWHERE, "quarry", "winter", "Honey", "zeppelin", "stipend-budget", "quarry's", "18", "", "?!"]


def test_the_three_document_frequencies_agree(index_dir: IndexDir, monkeypatch: pytest.MonkeyPatch) -> None:
    """Table, probe and TEXT_MATCH: the same count for a word of one token; for a word of
    several tokens the table gives its rarest token's count, the engine any token's."""
    for word, (table, probe, text_match) in frequencies(index_dir, WORDS, monkeypatch).items():
        assert (table, probe, text_match) == (rarest(word, DOCUMENTS), holding(word, DOCUMENTS),
                                              holding(word, DOCUMENTS)), word
    assert (rarest("stipend-budget", DOCUMENTS), holding("stipend-budget", DOCUMENTS)) == (1, 2)  # the rules differ


def test_the_token_table_follows_removals_and_replacements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir = milvus_dir(tmp_path)
    write(index_dir, DOCUMENTS)
    replaced = dataclasses.replace(DOCUMENTS[-1], text="Honey labels name the apiary; quarry honey sells first.")
    write(index_dir, [replaced], remove=["t-pub-1", "t-priv-2"])
    now = [d for d in DOCUMENTS[:-1] if d.id not in ("t-pub-1", "t-priv-2")] + [replaced]
    table = read_terms(index_dir.current_path())  # type: ignore[arg-type]
    assert table is not None and table["apiary"] == holding("apiary", now) and "varroa" not in table
    for word, counts in frequencies(index_dir, [*WORDS, "varroa", "apiary", "mites"], monkeypatch).items():
        assert counts == [rarest(word, now), holding(word, now), holding(word, now)], word
