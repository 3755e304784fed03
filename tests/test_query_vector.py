"""The query vector: a question's title line weighted in (retrieval/query_vector.py, used by
Searcher.search for the dense side)."""

from __future__ import annotations

import numpy as np
import pytest

from app.settings import SearchOptions
from retrieval.library import Library
from retrieval.query_vector import split_title, with_title
from retrieval.search import Searcher

QUESTION = "Bees at the neighbour's pool\nHi all, my bees keep drinking from the swimming pool next door. Any idea?"
PRIVATE_TERMS = ("quarry lane", "mentor stipend")


@pytest.mark.unit
@pytest.mark.parametrize(("query", "expected"), [
    ("Swarm season\nWhen do colonies swarm here?", ("Swarm season", "When do colonies swarm here?")),
    ("  one line only  ", ("  one line only  ", "")),
    ("title only\n   \n", ("title only\n   \n", "")),
    ("x" * 250 + "\nbody", ("x" * 250 + "\nbody", "")),  # a long first line is text, not a title
])
def test_split_title(query: str, expected: tuple[str, str]) -> None:
    assert split_title(query) == expected


@pytest.mark.integration
def test_title_weight_mixes_the_title_embedding_into_questions_with_a_body(library: Library) -> None:
    embedder = library.embedder
    whole, title = embedder.embed([QUESTION])[0], embedder.embed([QUESTION.split("\n")[0]])[0]
    mixed = with_title(embedder, QUESTION, whole, 0.35)
    expected = 0.35 * title + 0.65 * whole
    assert mixed == pytest.approx(expected / np.linalg.norm(expected), abs=1e-5)
    assert float(mixed @ title) > float(whole @ title)  # pulled towards what the title asks
    one_line = "my bees drink from the neighbour's swimming pool"
    vector = embedder.embed([one_line])[0]
    assert with_title(embedder, one_line, vector, 0.35) is vector
    assert with_title(embedder, QUESTION, whole, 0.0) is whole


@pytest.mark.integration
def test_search_with_a_title_finds_the_thread_and_reports_similarity_to_the_question(library: Library) -> None:
    searcher = Searcher(library.snapshot(), library.embedder, **SearchOptions().model_dump())
    assert searcher.title_weight > 0  # the shipped default weights titles
    hits = searcher.search(QUESTION, k=3)
    assert any("pool" in h.title.lower() for h in hits)
    stored = searcher.snapshot.vectors.vectors([hits[0].chunk_id])[0]
    whole = library.embedder.embed([QUESTION])[0]
    assert hits[0].similarity == pytest.approx(float(stored @ whole), abs=1e-3)  # not to the mixed vector
    private = "Quarry Lane lease\nHow much is the mentor stipend budget this year?"
    for hit in searcher.search(private, k=20, collapse=False):
        assert hit.channel != "mentors"
        assert not any(term in hit.text.lower() for term in PRIVATE_TERMS)


@pytest.mark.integration
def test_short_queries_rank_as_before_and_questions_use_question_alpha(library: Library) -> None:
    options = SearchOptions().model_dump()
    shipped = Searcher(library.snapshot(), library.embedder, **options)
    plain = Searcher(library.snapshot(), library.embedder, **{**options, "title_weight": 0.0})
    short = "my bees drink from the neighbour's swimming pool"
    assert [h.chunk_id for h in shipped.search(short, k=10)] == [h.chunk_id for h in plain.search(short, k=10)]
    assert shipped.question_options["alpha"] == options["question_alpha"] != options["alpha"]
    assert shipped.fusion_options["alpha"] == options["alpha"]


@pytest.mark.integration
def test_the_dense_side_searches_with_the_mixed_vector_whose_title_a_worker_embedded(library: Library) -> None:
    """The title is embedded in a worker thread beside the whole question: the dense ranking
    must be the vector index's own ranking for the mixed vector, and a given ``head`` is used
    as the title's embedding."""
    from retrieval.filters import Filters

    searcher = Searcher(library.snapshot(), library.embedder, **SearchOptions().model_dump())
    embedder = library.embedder
    whole, title = embedder.embed([QUESTION])[0], embedder.embed([QUESTION.split("\n")[0]])[0]
    mixed = with_title(embedder, QUESTION, whole, searcher.title_weight)
    assert np.array_equal(with_title(embedder, QUESTION, whole, searcher.title_weight, head=title), mixed)
    expected = [i for i, _ in searcher.snapshot.vectors.search(mixed, 100, Filters(), ())][:10]
    hits = searcher.search(QUESTION, k=10, mode="dense", collapse=False)
    assert [h.chunk_id for h in hits] == expected
