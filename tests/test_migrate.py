"""``townsquare migrate``: an index built with FTS5 (``sqlite-faiss``) moves to sparse BM25
(the default of new indexes) and back without re-embedding; searches rank as before, private
content stays private, later ingests extend the migrated index, and a backend whose catalog or
vectors differ is refused with the served snapshot untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from ingest.pipeline import ingest
from retrieval.backends import BackendConfig
from retrieval.filters import Filters
from retrieval.index import IndexDir
from tests.helpers import thread_line, write_small_corpus

pytestmark = pytest.mark.integration
QUERIES = ("smoker fuel pine needles", "label net weight address", "starter strip frames", "queen excluder mentors")


def lexical_and_dense(index: Path, embedder, groups: tuple[str, ...]) -> list[object]:  # type: ignore[no-untyped-def]
    snapshot = IndexDir(index).open()
    try:
        out: list[object] = []
        for q in QUERIES:
            out.append([i for i, _ in snapshot.lexical.search(q, 10, Filters(), groups)])
            out.append([i for i, _ in snapshot.vectors.search(embedder.embed([q])[0], 10, Filters(), groups)])
        return out
    finally:
        snapshot.close()


def run(*args: str) -> tuple[int, str]:
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output + str(result.exception or "")


def test_an_fts5_index_moves_to_sparse_bm25_and_back(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    with (corpus / "threads.jsonl").open("a") as f:
        f.write(thread_line("m-1", "Mentors only: queen excluder trial", ["Who has the spare excluder?",
                                                                         "The mentors keep it at the apiary."],
                            visibility=["mentors"]) + "\n")
    index = tmp_path / "ix"
    ingest([corpus], IndexDir(index, BackendConfig("sqlite-faiss")), embedder)
    before = {g: lexical_and_dense(index, embedder, g) for g in ((), ("mentors",))}
    served = IndexDir(index).current_path()

    code, out = run("migrate", "--index", str(index))
    assert code == 0, out
    assert "sqlite-sparse-faiss" in out
    snapshot_path = IndexDir(index).current_path()
    assert snapshot_path != served
    manifest = IndexDir(index).open()
    assert manifest.manifest.backend == "sqlite-sparse-faiss"
    manifest.close()
    assert {g: lexical_and_dense(index, embedder, g) for g in before} == before  # same rankings, same privacy
    anonymous = lexical_and_dense(index, embedder, ())
    assert anonymous[6] == [] and before[("mentors",)][6]  # the private thread's words reach mentors only
    with sqlite3.connect(snapshot_path / "index.sqlite") as db:  # type: ignore[operator]
        assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'chunk_fts'").fetchall()

    code, out = run("migrate", "--index", str(index))
    assert code == 0 and "nothing to do" in out

    with (corpus / "threads.jsonl").open("a") as f:  # a later ingest with the default configured extends it
        f.write(thread_line("a-9", "Propolis tincture", ["How do I make propolis tincture?", "Freeze, grind, soak."])
                + "\n")
    ingest([corpus], IndexDir(index), embedder)
    snapshot = IndexDir(index).open()
    assert snapshot.manifest.backend == "sqlite-sparse-faiss"
    [(best, _), *_] = snapshot.lexical.search("propolis tincture", 3, Filters(), ())
    assert snapshot.catalog.chunks([best], ())[best].doc_id == "a-9"
    snapshot.close()

    code, out = run("migrate", "--backend", "sqlite-faiss", "--index", str(index))
    assert code == 0, out
    snapshot = IndexDir(index).open()
    assert snapshot.manifest.backend == "sqlite-faiss"
    assert snapshot.lexical.count() == snapshot.manifest.counts["chunks"]  # rebuilt once, no duplicates
    assert [i for i, _ in snapshot.lexical.search("queen excluder mentors", 10, Filters(), ())] == []
    snapshot.close()


def test_a_backend_with_other_vectors_is_refused_and_nothing_changes(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "ix"
    ingest([write_small_corpus(tmp_path / "src")], IndexDir(index, BackendConfig("sqlite-faiss")), embedder)
    served = IndexDir(index).current_path()
    code, out = run("migrate", "--backend", "milvus", "--index", str(index))
    assert code != 0
    assert "fresh ingest" in out and "milvus" in out
    assert IndexDir(index).current_path() == served
    assert [p.name for p in (index / "snapshots").iterdir()] == [served.name]  # type: ignore[union-attr]


def test_migrating_a_folder_without_an_index_says_so(tmp_path: Path) -> None:
    code, out = run("migrate", "--index", str(tmp_path / "nothing"))
    assert code != 0 and "no index" in out


def test_a_misspelt_backend_setting_fails_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOWNSQUARE_BACKEND", "sqlite-sparse")
    code, out = run("migrate", "--index", str(tmp_path / "ix"))
    assert code != 0 and "unknown backend 'sqlite-sparse'" in out and "sqlite-sparse-faiss" in out
