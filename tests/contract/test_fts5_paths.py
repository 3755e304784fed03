"""The FTS5 backend's two ways of applying filters and visibility (a small share of allowed
ids: checked by SQLite against an inline list; a large share: the unrestricted match filtered
here, deeper if the page is short) give the same results as each other and as the reference
rule, whichever the share."""

from __future__ import annotations

import pytest

from retrieval.backends import fts5
from retrieval.filters import Filters, admits
from retrieval.index import Snapshot
from tests.contract.cases import FILTER_CASES
from tests.contract.world import DOCUMENTS, EVERYWHERE, GROUP_SETS, entries_of

pytestmark = pytest.mark.unit


def force(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Send every restricted search down ``path`` ("inline" or "filtered"; the filtered one
    with the shallowest first pool, so short pages must go deeper)."""
    if path == "inline":
        monkeypatch.setattr(fts5, "FILTER_SHARE", 2.0)
    else:
        monkeypatch.setattr(fts5, "INLINE_IDS", 0)
        monkeypatch.setattr(fts5, "POOL_SLACK", 0.01)
        monkeypatch.setattr(fts5, "POOL_EXTRA", 0)


@pytest.fixture(params=["inline", "filtered"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, world: Snapshot) -> str:
    if not isinstance(world.lexical, fts5.Fts5Index):
        pytest.skip("FTS5 backend only")
    force(monkeypatch, request.param)
    return str(request.param)


@pytest.mark.parametrize("groups", GROUP_SETS)
@pytest.mark.parametrize("where", FILTER_CASES)
def test_each_path_selects_exactly_the_admitted_chunks(
    world: Snapshot, path: str, where: Filters, groups: tuple[str, ...],
) -> None:
    expected = {e.id for e in entries_of(DOCUMENTS) if admits(where, e, groups)}
    found = world.lexical.search(EVERYWHERE, 100, where, groups)
    assert {i for i, _ in found} == expected and len(found) == len(expected)


@pytest.mark.parametrize("groups", [(), ("mentors",)])
@pytest.mark.parametrize("k", [1, 3])
def test_both_paths_rank_the_same_top_k(
    world: Snapshot, monkeypatch: pytest.MonkeyPatch, k: int, groups: tuple[str, ...],
) -> None:
    if not isinstance(world.lexical, fts5.Fts5Index):
        pytest.skip("FTS5 backend only")
    query = "winter varroa hive Quarry Lane lease"
    with monkeypatch.context() as patch:
        force(patch, "inline")
        inline = world.lexical.search(query, k, Filters(), groups)
    force(monkeypatch, "filtered")
    assert world.lexical.search(query, k, Filters(), groups) == inline
    assert len(inline) == k


def test_contains_is_exact_membership() -> None:
    import numpy as np

    allowed = np.array([3, 9, 2**62], dtype=np.int64)
    assert fts5.contains(allowed, [2**62, 4, 3, 10**18]).tolist() == [True, False, True, False]
    assert fts5.contains(np.array([], dtype=np.int64), [1]).tolist() == [False]


def test_long_questions_keep_only_the_rarest_words(world: Snapshot) -> None:
    if not isinstance(world.lexical, fts5.Fts5Index):
        pytest.skip("FTS5 backend only")
    from retrieval.backends.options import Fts5Options

    capped = fts5.Fts5Index(world.lexical.catalog, Fts5Options(max_terms=2))
    words = ["hive", "quarry", "zeppelin", "varroa", "lease"]
    kept = capped.selective(words)
    df = {w: world.lexical.document_frequency(w) for w in words}
    assert len(kept) == 2 and "zeppelin" not in kept  # absent words never take a place
    assert max(df[w] for w in kept) <= min(df[w] for w in words if w not in kept and df[w] > 0)
    assert kept == [w for w in words if w in kept]  # original order
    assert capped.selective(["hive", "quarry"]) == ["hive", "quarry"]


def test_a_posting_budget_keeps_the_rarest_words_within_it(world: Snapshot) -> None:
    if not isinstance(world.lexical, fts5.Fts5Index):
        pytest.skip("FTS5 backend only")
    from retrieval.backends.options import Fts5Options

    words = ["hive", "quarry", "zeppelin", "varroa", "lease", "honey"]
    df = {w: world.lexical.document_frequency(w) for w in words}
    budget = sorted(d for d in df.values() if d)[0] + 1  # room for the rarest word and little more
    capped = fts5.Fts5Index(world.lexical.catalog, Fts5Options(max_postings=budget, common_min_chunks=10**6))
    kept = capped.selective(words)
    assert kept and "zeppelin" not in kept and kept == [w for w in words if w in kept]
    assert sum(df[w] for w in kept) <= budget
    assert min(df[w] for w in words if df[w]) == min(df[w] for w in kept)  # the rarest word always goes in
    roomy = fts5.Fts5Index(world.lexical.catalog, Fts5Options(max_postings=world.lexical.count() + 1))
    assert roomy.selective(words) == words  # an index no bigger than the budget is not affected
