"""``--prune`` removes only what was asked: documents from under the paths given in this run
whose file is gone; a missing or unreadable path is an error and removes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from ingest.prune import prunable
from retrieval.errors import IngestError
from retrieval.index import IndexDir
from tests.helpers import write_small_corpus

pytestmark = pytest.mark.integration


def _doc_ids(index_dir: IndexDir) -> set[str]:
    snapshot = index_dir.open()
    try:
        return set(snapshot.catalog.document_hashes())
    finally:
        snapshot.close()


def _two_folder_corpus(root: Path) -> tuple[Path, Path]:
    """``root/community`` (threads, members, a guide) and ``root/community/resources`` (a note)."""
    corpus = write_small_corpus(root / "community")
    (corpus / "resources").mkdir()
    (corpus / "resources" / "note.md").write_text("# Wax\n\nRender old comb in a solar wax melter.\n")
    return corpus, corpus / "resources"


@pytest.fixture
def built(tmp_path: Path, embedder) -> tuple[Path, Path, IndexDir, set[str]]:  # type: ignore[no-untyped-def]
    corpus, resources = _two_folder_corpus(tmp_path / "src")
    index_dir = IndexDir(tmp_path / "ix")
    assert ingest([corpus], index_dir, embedder).errors == 0
    return corpus, resources, index_dir, _doc_ids(index_dir)


def test_a_missing_path_is_an_error_and_prunes_nothing(built, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corpus, _, index_dir, before = built
    served = index_dir.current_path()
    with pytest.raises(IngestError, match="no such file or folder"):
        ingest([tmp_path / "not-mounted"], index_dir, embedder, prune=True)
    with pytest.raises(IngestError, match="not-mounted"):
        ingest([corpus, tmp_path / "not-mounted"], index_dir, embedder, prune=True)
    assert index_dir.current_path() == served and _doc_ids(index_dir) == before


def test_the_cli_says_so_in_one_line_and_exits_non_zero(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, index_dir, before = built
    result = subprocess.run(
        [str(Path(sys.executable).parent / "townsquare"), "ingest", str(tmp_path / "gone"), "--prune",
         "--index", str(index_dir.root)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error:")
    assert "Traceback" not in result.stderr
    assert _doc_ids(index_dir) == before


def test_prune_of_a_sub_folder_touches_only_that_folder(built, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus, resources, index_dir, before = built
    (corpus / "guide.md").unlink()  # outside the path given next: must stay
    (resources / "note.md").unlink()  # inside it: may go
    summary = ingest([resources], index_dir, embedder, prune=True)
    assert summary.documents_removed == 1
    after = _doc_ids(index_dir)
    assert before - after == {next(i for i in before if "note" in i)}
    summary = ingest([corpus], index_dir, embedder, prune=True)
    assert summary.documents_removed == 1 and not any("guide" in i for i in _doc_ids(index_dir))


def test_an_empty_folder_given_prunes_only_itself(built, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, index_dir, before = built
    empty = tmp_path / "empty"
    empty.mkdir()
    summary = ingest([empty], index_dir, embedder, prune=True)
    assert summary.documents_removed == 0 and _doc_ids(index_dir) == before


def test_a_moved_corpus_is_not_pruned_by_its_old_path(built, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corpus, _, index_dir, before = built
    moved = shutil.move(corpus, tmp_path / "moved")
    assert ingest([Path(moved)], index_dir, embedder, prune=True).documents_removed == 0
    assert _doc_ids(index_dir) == before


@pytest.mark.unit
def test_prunable_keeps_unlisted_folders_files_with_errors_and_unknown_paths() -> None:
    stored = {
        "a": "/data/corpus/threads.jsonl", "b": "/data/corpus/locked/x.md", "c": "/data/corpus/bad.jsonl",
        "d": "/data/other/y.md", "e": "threads.jsonl", "f": "/data/corpus-2/z.md",
    }
    roots = [Path("/data/corpus")]
    kept = [Path("/data/corpus/locked"), Path("/data/corpus/bad.jsonl")]
    assert prunable(stored, set(), roots, kept) == ["a"]
    assert prunable(stored, {"a"}, roots, kept) == []
