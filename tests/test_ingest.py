"""Ingest end to end with the real model, FAISS and SQLite: counts, incrementality, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import ingest
from retrieval.errors import IngestError, ModelMismatchError
from retrieval.index import IndexDir
from retrieval.library import Library
from tests.helpers import thread_line, write_small_corpus

pytestmark = pytest.mark.integration


def test_sample_corpus_meets_the_brief(sample_build) -> None:  # type: ignore[no-untyped-def]
    index_dir, summary = sample_build
    assert summary.errors == 0, [str(p) for p in summary.problems]
    counts = index_dir.open().manifest.counts
    assert counts["threads"] >= 60
    assert counts["members"] >= 15
    assert counts["resources"] >= 8
    assert counts["chunks"] == len(index_dir.open().vectors)


def test_reingesting_unchanged_sources_embeds_nothing(index_copy: IndexDir, embedder) -> None:  # type: ignore[no-untyped-def]
    before = index_copy.current_path()
    summary = ingest([Path("corpus/sample")], index_copy, embedder)
    assert summary.chunks_embedded == 0
    assert summary.documents_new == summary.documents_changed == 0
    assert index_copy.current_path() == before  # nothing changed: no new snapshot


def test_the_member_count_is_the_index_s_on_every_run(  # type: ignore[no-untyped-def]
    sample_build, index_copy: IndexDir, embedder, tmp_path: Path,
) -> None:
    """A re-ingest loads only the members its members files declare (the rest, made from
    accounts and unlisted authors, already exist): the summary still counts the index's."""
    index_dir, first = sample_build
    stored = index_dir.open().manifest.counts["members"]
    assert (first.members, first.members_new) == (stored, stored)
    again = ingest([Path("corpus/sample")], index_copy, embedder)
    assert (again.members, again.members_new) == (stored, 0)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "threads.jsonl").write_text(thread_line("xt-1", "Wax moth", ["Moths in stored frames?", "Freeze them."],
                                                     authors=["m01", "newcomer-zz"]) + "\n")
    grown = ingest([Path("corpus/sample"), extra], index_copy, embedder)
    assert (grown.members, grown.members_new) == (stored + 1, 1)
    assert index_copy.open().manifest.counts["members"] == stored + 1


class _Steps:
    """A :class:`ingest.pipeline.ProgressSink` keeping each stage's steps."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}
        self.names: list[str] = []

    def add_task(self, description: str, *, total: float | None = None) -> int:
        self.names.append(description)
        self.steps[description] = []
        return len(self.names) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.steps[self.names[task_id]].append(advance)


def test_progress_covers_every_stage_and_moves_every_model_batch(  # type: ignore[no-untyped-def]
    tmp_path: Path, embedder,
) -> None:
    progress = _Steps()
    summary = ingest([write_small_corpus(tmp_path / "src")], IndexDir(tmp_path / "ix"), embedder,
                     batch_size=2, progress=progress)
    assert progress.names == ["loading", "planning", "chunking", "opening", "embedding", "writing", "committing"]
    assert progress.steps["planning"] == [1] and progress.steps["opening"] == [1]
    steps = progress.steps["embedding"]
    assert sum(steps) == summary.chunks_embedded > 4
    assert set(steps[:-1]) == {2} and 1 <= steps[-1] <= 2
    assert sum(progress.steps["writing"]) == summary.documents_new and progress.steps["committing"] == [1]


def test_changed_document_reembeds_only_its_new_text(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    index_dir = IndexDir(tmp_path / "ix")
    first = ingest([corpus], index_dir, embedder)
    assert first.errors == 0 and first.documents_new == 4
    lines = (corpus / "threads.jsonl").read_text().splitlines()
    lines[0] = thread_line("a-1", "Which smoker fuel burns longest?", ["Which fuel?", "Dry pine needles and burlap.",
                                                                       "Cardboard egg boxes work too."])
    (corpus / "threads.jsonl").write_text("\n".join(lines) + "\n")
    second = ingest([corpus], index_dir, embedder)
    assert (second.documents_changed, second.documents_unchanged) == (1, 3)
    assert second.chunks_embedded == 1 and second.chunks_reused == 2
    library = Library(index_dir, embedder)
    assert library.searcher().search("egg boxes as smoker fuel", k=1)[0].doc_id == "a-1"


def test_prune_removes_documents_whose_source_disappeared(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    index_dir = IndexDir(tmp_path / "ix")
    ingest([corpus], index_dir, embedder)
    (corpus / "guide.md").unlink()
    kept = ingest([corpus], index_dir, embedder)
    assert kept.documents_removed == 0 and index_dir.open().manifest.counts["resources"] == 1
    pruned = ingest([corpus], index_dir, embedder, prune=True)
    assert pruned.documents_removed == 1
    snapshot = index_dir.open()
    assert snapshot.manifest.counts["resources"] == 0
    assert len(snapshot.vectors) == snapshot.manifest.counts["chunks"]


def test_broken_line_is_reported_and_the_rest_ingested(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    index_dir = IndexDir(tmp_path / "ix")
    ingest([corpus], index_dir, embedder)
    with (corpus / "threads.jsonl").open("a") as f:
        f.write('{"id": "a-4", "title": "cut off\n')
        f.write(thread_line("a-5", "Queen excluder yes or no", ["Do you use one?", "Only over brood."]) + "\n")
    summary = ingest([corpus], index_dir, embedder, prune=True)
    errors = [p for p in summary.problems if p.level == "error"]
    assert [p.where for p in errors] == ["threads.jsonl:4"] and "invalid JSON" in errors[0].message
    assert summary.errors == 1 and summary.documents_new == 1
    snapshot = index_dir.open()
    assert snapshot.manifest.counts["threads"] == 4  # nothing pruned from the file with an error
    assert Library(index_dir, embedder).searcher().search("queen excluder", k=1)[0].doc_id == "a-5"


def test_awkward_files_are_handled_without_tracebacks(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    (corpus / "empty.jsonl").write_text("")
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")
    (corpus / "latin1.txt").write_bytes("Caf\xe9 hives on the roof\n".encode("latin-1"))
    (corpus / "big.md").write_text("x" * 3000)
    (corpus / "more.jsonl").write_text(
        thread_line("a-1", "Duplicate id", ["again"]) + "\n"
        + thread_line("b-1", "By a stranger", ["Hello?", "Hi."], authors=["m99", "m01"]) + "\n"
    )
    summary = ingest([corpus], IndexDir(tmp_path / "ix"), embedder, max_file_bytes=2000)
    messages = [str(p) for p in summary.problems]
    assert any(m.startswith("empty.jsonl: empty file") for m in messages)
    assert any(m.startswith("notes.docx: skipped: unknown file type .docx") for m in messages)
    assert any(m.startswith("latin1.txt: not valid UTF-8") for m in messages)
    assert any(m.startswith("big.md: skipped:") and "limit" in m for m in messages)
    assert any("duplicate document id 'a-1'" in m and "threads.jsonl:1" in m and "more.jsonl:1" in m
               for m in messages)
    assert any("'m99' is not in members.jsonl" in m for m in messages)
    assert summary.errors == 2  # the duplicate and the oversize file
    snapshot = IndexDir(tmp_path / "ix").open()
    assert snapshot.catalog.members()["m99"].name == "m99"
    body = snapshot.catalog.documents(["latin1.txt"], ())["latin1.txt"].body
    assert body is not None and "Caf\ufffd hives" in body


class FailingEmbedder:
    """The real model, except that embedding fails part-way (as a crash or kill would)."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self._real = real
        self.model_id, self.model_name = real.model_id, real.model_name
        self.dimension, self.max_tokens = real.dimension, real.max_tokens

    def count_tokens(self, text: str) -> int:
        return self._real.count_tokens(text)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        raise RuntimeError("simulated crash while embedding")


def test_failed_ingest_leaves_the_previous_index_serving(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    index_dir = IndexDir(tmp_path / "ix")
    ingest([corpus], index_dir, embedder)
    before = index_dir.current_path()
    (corpus / "extra.md").write_text("# Extra\n\nSomething new about mouse guards.\n")
    with pytest.raises(RuntimeError):
        ingest([corpus], index_dir, FailingEmbedder(embedder))
    assert index_dir.current_path() == before
    assert [p.name for p in index_dir.snapshots_dir.iterdir()] == [before.name]  # type: ignore[union-attr]
    hits = Library(index_dir, embedder).searcher().search("smoker fuel", k=2)
    assert hits and hits[0].doc_id == "a-1"


def test_an_index_refuses_another_model(sample_index: IndexDir) -> None:
    with pytest.raises(ModelMismatchError, match="built with model all-MiniLM-L6-v2"):
        sample_index.open("0000000000000000")


def test_a_copied_index_directory_still_opens(tmp_path: Path, sample_index: IndexDir) -> None:
    shutil.copytree(sample_index.root, tmp_path / "moved")
    assert IndexDir(tmp_path / "moved").open().manifest.counts["threads"] >= 60


def test_a_path_that_does_not_exist_creates_no_index(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IngestError, match="no such file or folder; nothing was ingested"):
        ingest([tmp_path / "sorce"], IndexDir(tmp_path / "ix"), embedder)
    assert not (tmp_path / "ix").exists()
    corpus = write_small_corpus(tmp_path / "src")  # one real path among missing ones: the rest is ingested
    summary = ingest([tmp_path / "sorce", corpus], IndexDir(tmp_path / "ix"), embedder)
    assert summary.documents_new == 4 and summary.errors == 1
