"""Searching through every backend in every mode: visibility and filters hold end to end
(:class:`retrieval.search.Searcher` over the backend's three Protocols)."""

from __future__ import annotations

import pytest

from retrieval.filters import Filters
from retrieval.index import Snapshot
from retrieval.search import Searcher
from tests.contract.world import HashingEmbedder

pytestmark = pytest.mark.unit
PRIVATE_DOCS = {"t-priv-1", "t-priv-2", "r-priv"}


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_no_private_chunk_reaches_an_outsider_in_any_mode(world: Snapshot, mode: str) -> None:
    searcher = Searcher(world, HashingEmbedder())
    for groups in [(), ("members",)]:
        hits = searcher.search("Quarry Lane lease mentor stipend hive", k=20, groups=groups, mode=mode,  # type: ignore[arg-type]
                               collapse=False)
        assert hits and not {h.doc_id for h in hits} & PRIVATE_DOCS
    inside = searcher.search("Quarry Lane lease", k=3, groups=("mentors",), mode=mode)  # type: ignore[arg-type]
    assert inside[0].doc_id == "t-priv-1"


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_filters_hold_in_every_mode(world: Snapshot, mode: str) -> None:
    searcher = Searcher(world, HashingEmbedder())
    hits = searcher.search("hive", k=20, filters=Filters(tag="winter"), groups=("board",), mode=mode,  # type: ignore[arg-type]
                           collapse=False)
    assert {h.doc_id for h in hits} == {"t-pub-1", "t-priv-2"}
    assert all("winter" in h.tags for h in hits)
