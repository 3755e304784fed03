"""Chunking: token limits, spans, heading paths, stable ids (real tokenizer)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.chunking import Chunker, markdown_sections
from retrieval.records import Post, Resource, Thread

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chunker(embedder) -> Chunker:  # type: ignore[no-untyped-def]
    return Chunker(embedder.count_tokens, embedder.max_tokens)


def _thread(text: str) -> Thread:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    posts = (Post("t-p1", "t", "m01", when, "How do I do it?"), Post("t-p2", "t", "m02", when, text, accepted=True))
    return Thread(id="t", source="native", channel="gear", title="A long answer", posts=posts)


def test_long_post_fits_the_model_and_keeps_spans(chunker: Chunker, embedder) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(f"Sentence number {i} explains one more step of building a hive stand." for i in range(120))
    chunks = chunker.chunks(_thread(text))
    answer_chunks = [c for c in chunks if c.post_id == "t-p2"]
    assert len(answer_chunks) > 3
    for chunk in answer_chunks:
        assert embedder.count_tokens(chunk.text) + 2 <= embedder.max_tokens
        assert text[chunk.start : chunk.end] == chunk.body
        assert chunk.text.startswith("A long answer (#gear, accepted answer)\n")


def test_chunk_ids_are_stable_and_distinct(chunker: Chunker) -> None:
    first = [c.id for c in chunker.chunks(_thread("word " * 600))]
    second = [c.id for c in chunker.chunks(_thread("word " * 600))]
    assert first == second
    assert len(set(first)) == len(first)


def test_markdown_sections_keep_heading_path_and_spans(chunker: Chunker) -> None:
    text = "# Guide\n\nIntro text.\n\n## Feeding\n\n### Autumn\n\nUse 2:1 syrup.\n\n```\n# not a heading\n```\n"
    sections = markdown_sections(text)
    assert [path for path, _ in sections] == [("Guide",), ("Guide", "Feeding", "Autumn")]
    resource = Resource(id="g.md", source="files", title="Guide", text=text, markup="markdown")
    chunks = chunker.chunks(resource)
    assert chunks[1].section == "Guide > Feeding > Autumn"
    assert "# not a heading" in chunks[1].body
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.body
