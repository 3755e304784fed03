"""``townsquare forget``: a member's questions, feedback and (with --posts) posts go away."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.activity import ActivityLog
from app.cli import cli
from ingest.pipeline import ingest
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.index import IndexDir
from tests.helpers import write_small_corpus

pytestmark = pytest.mark.integration


def test_forget_removes_activity_and_keeps_posts_out_of_the_next_ingest(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    corpus, index = write_small_corpus(tmp_path / "corpus"), IndexDir(tmp_path / "index")
    ingest([corpus], index, embedder)
    log = ActivityLog(index.root / "activity.sqlite")
    answer_id = log.record_question("Who sells smoker fuel?", ("hosts",), 0.2, True, None, "m01")
    log.record_feedback("answer", True, answer_id, None, "thanks", ("hosts",), "m01")
    log.record_question("Another person's question", ("hosts",), 0.2, True, None, "m02")
    log.close()
    result = CliRunner().invoke(cli, ["forget", "m01", "--posts", "--index", str(index.root)])
    assert result.exit_code == 0 and "Deleted 1 question and 1 feedback entry of " in result.output, result.output
    summary = ingest([corpus], index, embedder)
    catalog = index.open().catalog
    authors = [p.author for p in catalog.posts_of(["a-1", "a-2", "a-3"], ())]
    assert "m01" not in authors and authors.count("m02") == 3
    assert catalog.member_contributions(["m01"], ()) == [] and "m01" not in catalog.members()
    assert summary.documents_changed == 4 and summary.errors == 0
    left = ActivityLog(index.root / "activity.sqlite").weak_questions("2000-01-01", 1.0, ("hosts",))
    assert [r.question for r in left] == ["Another person's question"]
