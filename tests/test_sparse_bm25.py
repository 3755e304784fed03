"""The ``sparse`` lexical index: BM25 scores checked by hand on a tiny index, agreement with
FTS5 (analysis and ranking), and visibility (private chunks never reach outsiders, and nothing
an outsider sees counts them). The storage contract suite runs on it too
(``tests/contract``, backend ``sqlite-sparse-faiss``)."""

from __future__ import annotations

import gc
import math
import sqlite3
import weakref
from pathlib import Path

import numpy as np
import pytest

from retrieval.backends import BackendConfig
from retrieval.backends.options import SparseOptions
from retrieval.backends.porter import stem
from retrieval.backends.sparse_analysis import analyse, query_terms
from retrieval.backends.sparse_bm25 import SparseBm25Index, top_k
from retrieval.backends.sparse_build import SparseBuilder
from retrieval.backends.sparse_matrix import TermMatrix
from retrieval.cjk import spaced
from retrieval.filters import Filters
from retrieval.index import IndexDir, Snapshot
from retrieval.views import ChunkEntry
from retrieval.writer import SnapshotWriter
from tests.contract.world import DOCUMENTS, HashingEmbedder, entries_of, write

pytestmark = pytest.mark.unit
K1, B = 1.2, 0.75
SPARSE = BackendConfig("sqlite-sparse-faiss")


def entry(chunk: int, text: str) -> ChunkEntry:
    return ChunkEntry(chunk, f"d{chunk}", "thread", "forum", "general", None, (), None, (), text)


class EveryChunk:
    """A catalog stand-in at the Protocol's one method the index uses: nothing restricted."""

    def select_chunks(self, where: Filters, groups: tuple[str, ...]) -> None:
        return None


def tiny(tmp_path: Path, texts: dict[int, str]) -> SparseBm25Index:
    builder = SparseBuilder(tmp_path / "m", None, SparseOptions())
    builder.add([entry(i, t) for i, t in texts.items()])
    builder.commit()
    return SparseBm25Index(TermMatrix.load(tmp_path / "m"), EveryChunk(), SparseOptions())  # type: ignore[arg-type]


def bm25(tf: int, length: int, average: float, n: int, df: int) -> float:
    idf = math.log((n - df + 0.5) / (df + 0.5))
    return max(idf, 1e-6) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))


def test_scores_are_okapi_bm25_by_hand(tmp_path: Path) -> None:
    # lengths 4, 2, 3, 3 (average 3); "mite" in chunks 1 and 3 (df 2 of 4), twice in chunk 1
    index = tiny(tmp_path, {1: "mite mite count board", 2: "oxalic acid", 3: "sugar roll mite",
                            4: "smoker pine needles"})
    found = dict(index.search("mites", 10, Filters(), ()))
    assert set(found) == {1, 3}
    assert found[1] == pytest.approx(bm25(2, 4, 3.0, 4, 2), rel=1e-5)
    assert found[3] == pytest.approx(bm25(1, 3, 3.0, 4, 2), rel=1e-5)
    both = dict(index.search("oxalic mite", 10, Filters(), ()))
    assert both[2] == pytest.approx(bm25(1, 2, 3.0, 4, 1), rel=1e-5)
    assert index.document_frequency("mites") == 2 and index.document_frequency("zeppelin") == 0


def test_a_term_in_most_chunks_still_counts_a_little(tmp_path: Path) -> None:
    index = tiny(tmp_path, {1: "hive a", 2: "hive b", 3: "hive c"})  # idf < 0: floored as FTS5 does
    assert [s for _, s in index.search("hive", 3, Filters(), ())] == pytest.approx([1e-6] * 3, rel=1e-3)


def test_ties_go_to_the_smaller_chunk_id(tmp_path: Path) -> None:
    index = tiny(tmp_path, {30: "queen cell", 7: "queen cell", 12: "queen cell", 5: "drone"})
    assert [i for i, _ in index.search("queen", 2, Filters(), ())] == [7, 12]
    rows, scores = top_k(np.array([0, 1, 2, 3]), np.array([1.0, 2.0, 2.0, 0.5], dtype=np.float32), 2)
    assert rows.tolist() == [1, 2] and scores.tolist() == [2.0, 2.0]


def fts5_terms(texts: list[str]) -> list[list[str]]:
    """FTS5's own terms (porter unicode61) of each text, in order."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5 (text, tokenize = 'porter unicode61')")
    db.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", [(i + 1, spaced(t)) for i, t in enumerate(texts)])
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
    out: list[list[tuple[int, str]]] = [[] for _ in texts]
    for term, doc, _, offset in db.execute("SELECT term, doc, col, offset FROM v"):
        out[doc - 1].append((offset, term))
    return [[t for _, t in sorted(terms)] for terms in out]


def test_analysis_agrees_with_fts5_porter_unicode61() -> None:
    texts = [e.text for e in entries_of(DOCUMENTS)] + [
        "Connections, relational generalizations; hopefully formalize IT'S e_mail 3.14 x² ½",
        "Café naïve Ærø straße İstanbul Ωmega ελληνικά Привет мир العربية",
        "我做了糖饼和蜂蜜",
    ]
    for text, expected in zip(texts, fts5_terms(texts), strict=True):
        terms, length = analyse(text)
        assert [t for t in terms if "_" not in t and (len(t) == 1 or not "\u4e00" <= t[0] <= "\u9fff")] == expected
        assert length == len(expected)
    assert stem("generalizations") == "gener" and stem("hopefully") == "hopefulli"
    assert query_terms("糖 饼") == ["糖饼"] and query_terms("connections") == ["connect"]
    assert query_terms("download_files") == ["download_file"] and "download_file" in analyse("a download_files")[0]
    assert {"input_file", "file_path", "input_file_path"} <= set(analyse("input_file_paths")[0])
    assert "network_tag" in analyse("--network-tag mainnet")[0] and query_terms("network_tag") == ["network_tag"]


@pytest.mark.parametrize("ingests", [1, 3])
def test_ranking_agrees_with_fts5(tmp_path: Path, ingests: int) -> None:
    """Built in one ingest, or in three (later ones add, remove and replace documents: the
    merged matrix must weigh every chunk as a fresh build would)."""
    fts5_dir, sparse_dir = IndexDir(tmp_path / "a"), IndexDir(tmp_path / "b", SPARSE)
    for folder in (fts5_dir, sparse_dir):
        if ingests == 1:
            write(folder, DOCUMENTS)
        else:
            write(folder, DOCUMENTS[:3])
            write(folder, DOCUMENTS[2:], remove=["t-pub-1"])
            write(folder, DOCUMENTS[:1])
    a, b = fts5_dir.open(HashingEmbedder.model_id), sparse_dir.open(HashingEmbedder.model_id)
    for query in ["winter varroa hive", "Quarry Lane lease", "honey labels weight", "mentor stipend budget"]:
        for groups in [(), ("mentors",)]:
            want, got = a.lexical.search(query, 5, Filters(), groups), b.lexical.search(query, 5, Filters(), groups)
            assert [i for i, _ in got] == [i for i, _ in want]
            assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-4)
    a.close()
    b.close()


@pytest.fixture
def sparse_world(tmp_path: Path) -> Snapshot:
    index_dir = IndexDir(tmp_path / "index", SPARSE)
    write(index_dir, DOCUMENTS)
    return index_dir.open(HashingEmbedder.model_id)


def test_private_chunks_never_reach_outsiders_nor_change_their_scores(sparse_world: Snapshot) -> None:
    private = {e.id for e in entries_of(DOCUMENTS) if e.groups}
    outsider = sparse_world.lexical.search("Quarry Lane lease stipend mentor hive", 100, Filters(), ())
    assert outsider and not {i for i, _ in outsider} & private
    insider = dict(sparse_world.lexical.search("Quarry Lane lease stipend mentor hive", 100, Filters(), ("mentors",)))
    assert private <= set(insider)
    # a public chunk scores the same for both: the mask only removes rows, it changes no weight
    assert all(insider[i] == score for i, score in outsider)
    sparse_world.close()


def test_a_failed_ingest_leaves_the_served_snapshot(tmp_path: Path) -> None:
    index_dir = IndexDir(tmp_path / "index", SPARSE)
    write(index_dir, DOCUMENTS)
    with pytest.raises(RuntimeError):
        with index_dir.lock(), SnapshotWriter(index_dir, HashingEmbedder.model_id, HashingEmbedder.model_name,
                                              64) as writer:
            writer.delete_documents(["t-pub-1"])
            raise RuntimeError("ingest failed half way")
    snapshot = index_dir.open(HashingEmbedder.model_id)
    assert snapshot.lexical.search("varroa", 10, Filters(), ())
    assert snapshot.lexical.count() == len(entries_of(DOCUMENTS))
    snapshot.close()


def test_text_without_spaces_is_found_by_its_character_pairs(tmp_path: Path) -> None:
    index = tiny(tmp_path, {1: "我做了糖饼和蜂蜜", 2: "糖和饼", 3: "honey cake"})
    assert [i for i, _ in index.search("糖饼怎么做", 10, Filters(), ())] == [1]
    assert index.document_frequency("糖 饼") == 1 and index.document_frequency("糖") == 2


class SomeChunks:
    """A catalog stand-in at ``select_chunks``: every caller may see chunks 1 and 3 only."""

    def select_chunks(self, where: Filters, groups: tuple[str, ...]) -> list[int]:
        return [1, 3]


def test_a_dropped_index_frees_its_memory_maps_without_the_cycle_collector(tmp_path: Path) -> None:
    # a served snapshot is replaced while the server runs; its memory-mapped files must close as
    # soon as the last reference goes, so nothing in the index may refer back to the index
    builder = SparseBuilder(tmp_path / "m", None, SparseOptions())
    builder.add([entry(i, t) for i, t in {1: "mite board", 2: "mite acid", 3: "mite roll"}.items()])
    builder.commit()
    index = SparseBm25Index(TermMatrix.load(tmp_path / "m"), SomeChunks(), SparseOptions())  # type: ignore[arg-type]
    assert [chunk for chunk, _ in index.search("mite", 10, Filters(), ())] == [1, 3]  # the mask is kept
    gone = weakref.ref(index)
    gc.disable()
    try:
        del index
        assert gone() is None
    finally:
        gc.enable()
