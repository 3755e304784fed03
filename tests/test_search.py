"""Hybrid search on the real sample index: relevance, filters before top-k, visibility, collapse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from retrieval.filters import Filters
from retrieval.fusion import convex, get_fuser, rrf
from retrieval.index import Snapshot
from retrieval.library import Library
from retrieval.search import Searcher, related_documents
from retrieval.words import query_words

PRIVATE_TERMS = ("quarry lane", "mentor stipend")


@pytest.mark.unit
def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = rrf([(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 12.0), (1, 5.0)], rrf_k=60, lexical_weight=0.5)
    assert fused[1] == pytest.approx(1 / 61 + 0.5 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 0.5 / 61)
    assert max(fused, key=fused.get) == 1  # type: ignore[arg-type]


@pytest.mark.unit
def test_convex_fusion_keeps_score_gaps() -> None:
    dense = [(1, 0.80), (2, 0.79), (3, 0.40)]
    lexical = [(3, 20.0), (2, 10.0)]
    fused = convex(dense, lexical, alpha=0.9)
    assert fused[1] == pytest.approx(0.9)
    assert fused[2] == pytest.approx(0.9 * 0.39 / 0.40 + 0.1 * 0.0)
    assert fused[3] == pytest.approx(0.1)
    assert sorted(fused, key=fused.get, reverse=True) == [1, 2, 3]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="known: convex, rrf"):
        get_fuser("borda")


@pytest.mark.unit
def test_fts_query_quotes_content_words_only() -> None:
    from retrieval.backends.fts5 import fts_query

    assert fts_query(query_words('How do I "fix" the AND-gate?')) == '"fix" OR "gate"'
    assert fts_query(query_words("the and of")) == ""


@pytest.mark.integration
def test_finds_the_thread_that_answers(library: Library) -> None:
    hits = library.searcher().search("my bees drink from the neighbour's swimming pool", k=3)
    assert any("pool" in h.title.lower() for h in hits)
    assert all(h.kind in ("thread", "resource") for h in hits)


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_private_content_is_invisible_without_the_group(library: Library, mode: str) -> None:
    searcher = library.searcher()
    hits = searcher.search("Quarry Lane lease and the mentor stipend budget", k=20, mode=mode, collapse=False)
    for hit in hits:
        assert hit.channel != "mentors"
        assert not any(term in hit.text.lower() for term in PRIVATE_TERMS)
    inside = searcher.search("Quarry Lane lease", k=5, groups=("mentors",), mode=mode)
    assert any("quarry lane" in h.text.lower() for h in inside)


@pytest.mark.integration
def test_filters_apply_before_the_page_is_cut(library: Library) -> None:
    searcher = library.searcher()
    hits = searcher.search("varroa mites", k=10, filters=Filters(channel="honey-and-harvest"))
    assert len(hits) == 10  # a narrow channel still fills the page
    assert {h.channel for h in hits} == {"honey-and-harvest"}
    by_author = searcher.search("winter feeding", k=5, filters=Filters(author="m07"), collapse=False)
    assert by_author and {h.author for h in by_author} == {"m07"}
    resources = searcher.search("winter feeding", k=5, filters=Filters(kind="resource"))
    assert resources and {h.kind for h in resources} == {"resource"}
    tagged = searcher.search("mites", k=5, filters=Filters(tag="varroa"))
    assert tagged and all("varroa" in h.tags for h in tagged)


@pytest.mark.integration
def test_date_range_filter(library: Library) -> None:
    since, until = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC)
    hits = library.searcher().search("feeding syrup", k=10, filters=Filters(since=since, until=until), collapse=False)
    assert hits and all("2025-01-01" <= (h.created_at or "") <= "2025-12-31T23:59:59Z" for h in hits)
    # a reversed range is empty, not an error (the API's schema accepts any two dates)
    assert library.searcher().search("feeding syrup", k=10, filters=Filters(since=until, until=since)) == []


@pytest.mark.integration
def test_collapse_gives_one_hit_per_document(library: Library) -> None:
    searcher = library.searcher()
    collapsed = searcher.search("oxalic acid dribble in winter", k=8)
    assert len({h.doc_id for h in collapsed}) == len(collapsed) == 8
    flat = searcher.search("oxalic acid dribble in winter", k=30, collapse=False)
    assert len({h.doc_id for h in flat}) < len(flat)
    assert any(h.more for h in collapsed)


@pytest.mark.integration
@pytest.mark.parametrize("groups", [(), ("mentors",)])
@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_a_collapsed_page_is_the_collapse_of_every_visible_candidate(
    library: Library, groups: tuple[str, ...], mode: str,
) -> None:
    """Full hits are built only for the page's documents: the page, and each hit's ``more``,
    must be what collapsing all visible candidates gives (hidden chunks never counted). The
    pool holds every chunk here, so both searches fuse the same candidates."""
    searcher = Searcher(library.snapshot(), library.embedder, **{**library.search_options, "candidates": 2000})
    query = "Quarry Lane apiary: mentor stipend, varroa and oxalic acid in winter"
    every = searcher.search(query, k=2000, groups=groups, mode=mode, collapse=False)
    assert len(every) < 2000  # the whole index fits the pool
    for k in (1, 3, 8):
        page = searcher.search(query, k=k, groups=groups, mode=mode)
        whole = {h.doc_id: h for h in every}
        expected = list(dict.fromkeys(h.doc_id for h in every))[:k]
        assert [h.doc_id for h in page] == expected
        for hit in page:
            assert hit.chunk_id == next(h.chunk_id for h in every if h.doc_id == hit.doc_id)
            assert [m.chunk_id for m in hit.more] == [h.chunk_id for h in every if h.doc_id == hit.doc_id][1:]
            assert hit.title == whole[hit.doc_id].title
        if not groups:
            assert all(h.channel != "mentors" for h in page for h in (h, *h.more))


@pytest.mark.integration
def test_related_threads_exclude_the_thread_and_private_ones(library: Library) -> None:
    hits = related_documents(library.searcher(), "hh-001", k=5)
    assert len(hits) == 5 and "hh-001" not in {h.doc_id for h in hits}
    assert all(h.channel != "mentors" for h in hits)


def _lexical_with(snapshot: Snapshot, **options: int) -> Any:
    """The snapshot's own lexical index, opened again with other word-choice options (FTS5 or
    sparse BM25: both choose query words by the same rule)."""
    from retrieval.backends.fts5 import Fts5Index
    from retrieval.backends.options import Fts5Options, SparseOptions
    from retrieval.backends.sparse_bm25 import SparseBm25Index
    from retrieval.backends.sqlite_catalog import SqliteCatalog

    lexical = snapshot.lexical
    if isinstance(lexical, SparseBm25Index):
        return SparseBm25Index(lexical.matrix, snapshot.catalog, SparseOptions(**options))
    assert isinstance(lexical, Fts5Index) and isinstance(snapshot.catalog, SqliteCatalog)
    return Fts5Index(snapshot.catalog, Fts5Options(**options))


@pytest.mark.integration
def test_very_common_words_leave_the_lexical_query_on_big_indexes(library: Library) -> None:
    snapshot = library.snapshot()
    small = _lexical_with(snapshot)
    assert small.selective(["bees", "refractometer"]) == ["bees", "refractometer"]  # small index: all kept
    big = _lexical_with(snapshot, common_min_chunks=0)  # treat the sample as a big index
    assert big.selective(["bees", "refractometer"]) == ["refractometer"]
    assert big.selective(["bees", "hive"]) in (["bees"], ["hive"])  # all common: the rarest stays
    [(best, _), *_] = big.search("refractometer reading for bees honey", 3, Filters(), ())
    info = snapshot.catalog.chunks([best], ())[best]
    assert "refractometer" in (info.title + info.body).lower()


@pytest.mark.unit
def test_vectors_change_kind_when_the_index_outgrows_exact_search() -> None:
    import numpy as np

    from retrieval.backends.faiss_index import FaissVectors
    from retrieval.backends.options import FaissOptions

    rng = np.random.default_rng(0)
    data = rng.normal(size=(50, 8)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    flat = FaissVectors.empty(8, "flat")
    flat.add(np.arange(50, dtype=np.int64) + 1000, data)
    assert flat.resized() is flat
    grown = FaissVectors.empty(8, "flat", FaissOptions(hnsw_threshold=10))
    grown.add(np.arange(50, dtype=np.int64) + 1000, data)
    grown = grown.resized()
    assert grown.kind == "hnsw" and len(grown) == 50
    ids, _ = grown.search(data[7], 1)
    assert list(ids) == [1007]


@pytest.mark.integration
def test_hybrid_searches_from_many_threads_agree_with_one_at_a_time(library: Library) -> None:
    """The keyword side of a hybrid search runs in a worker thread with its own connection
    (the snapshot allows it); many requests at once must get exactly the sequential pages."""
    from concurrent.futures import ThreadPoolExecutor

    searcher = library.searcher()
    assert searcher.snapshot.lexical.concurrent
    asks = [(q, g) for q in ("oxalic acid dribble in winter", "Quarry Lane lease", "swarm in spring")
            for g in [(), ("mentors",)]] * 4

    def page(ask: tuple[str, tuple[str, ...]]) -> list[tuple[int, float, list[int]]]:
        hits = searcher.search(ask[0], k=5, groups=ask[1])
        return [(h.chunk_id, h.score, [m.chunk_id for m in h.more]) for h in hits]

    expected = [page(a) for a in asks]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(page, asks)) == expected
