"""Backend registries, options under the backend's name, and the backend recorded per index."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from retrieval.backends import BACKENDS, VECTOR_INDEXES, BackendConfig, Combination, combination, pick
from retrieval.backends.options import FaissOptions, options_of
from retrieval.errors import ConfigError
from retrieval.filters import Filters
from retrieval.index import IndexDir
from tests.contract.world import DOCUMENTS, HashingEmbedder, write

pytestmark = pytest.mark.unit


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown backend 'cassandra'; known: .*sqlite-faiss"):
        combination("cassandra")
    with pytest.raises(ConfigError, match=r"unknown vector backend 'annoy'; known: .*faiss"):
        pick(VECTOR_INDEXES, "annoy", "vector")
    with pytest.raises(ConfigError, match=r"unknown faiss option\(s\) nprobe; known: .*hnsw_threshold"):
        options_of(FaissOptions, {"nprobe": 2}, "faiss")


def test_settings_put_backend_options_under_their_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "townsquare.toml"
    config.write_text('backend = "sqlite-faiss"\n[vectors.faiss]\nhnsw_threshold = 5000\n'
                      "[lexical.fts5]\ncommon_share = 0.1\n")
    monkeypatch.setenv("TOWNSQUARE_CONFIG", str(config))
    monkeypatch.setenv("TOWNSQUARE_VECTORS__FAISS__EF_SEARCH", "64")
    backend = Settings().backend_config()
    assert backend.name == "sqlite-faiss"
    assert backend.options["faiss"] == {"hnsw_threshold": 5000, "hnsw_m": 32, "ef_construction": 80, "ef_search": 64,
                                        "quantize_threshold": 50_000, "rescore_factor": 2}
    assert backend.options["fts5"]["common_share"] == 0.1


def test_options_reach_the_backend(tmp_path: Path) -> None:
    index_dir = IndexDir(tmp_path / "ix", BackendConfig(options={"faiss": {"hnsw_threshold": 5}}))
    write(index_dir, DOCUMENTS)
    snapshot = index_dir.open(HashingEmbedder.model_id)
    assert snapshot.manifest.vector_kind == snapshot.vectors.kind == "hnsw"
    assert snapshot.manifest.backend == "sqlite-sparse-faiss"
    snapshot.close()


def test_an_index_keeps_the_backend_it_was_built_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "twin", Combination("sqlite", "fts5", "faiss"))
    write(IndexDir(tmp_path / "ix", BackendConfig("sqlite-faiss")), DOCUMENTS)
    other = IndexDir(tmp_path / "ix", BackendConfig("twin"))
    snapshot = other.open(HashingEmbedder.model_id)  # readers follow the manifest
    assert snapshot.manifest.backend == "sqlite-faiss" and len(snapshot.vectors) == 12
    snapshot.close()
    with pytest.raises(ConfigError, match="built with backend 'sqlite-faiss'.*configured backend is 'twin'"):
        write(other, DOCUMENTS[:1])
    write(IndexDir(tmp_path / "ix"), DOCUMENTS[:1])  # the default configured: the index keeps its FTS5 backend
    snapshot = IndexDir(tmp_path / "ix").open(HashingEmbedder.model_id)
    assert snapshot.manifest.backend == "sqlite-faiss" and snapshot.lexical.search("varroa", 5, Filters(), ()) != []
    snapshot.close()


def test_unknown_activity_store_lists_the_known_ones(tmp_path: Path) -> None:
    from app.activity import ActivityLog

    with pytest.raises(ConfigError, match=r"unknown activity backend 'redis'; known: sqlite"):
        ActivityLog(tmp_path / "activity.sqlite", store="redis")


def test_put_documents_writes_a_batch_like_single_documents(tmp_path: Path) -> None:
    """The bulk path (one index add per batch) stores what one call per document stores."""
    from retrieval.writer import SnapshotWriter
    from tests.contract.world import chunks_of

    embedder, one, bulk = HashingEmbedder(), IndexDir(tmp_path / "one"), IndexDir(tmp_path / "bulk")
    items = [(doc, f"hash-{doc.id}", "world", chunks_of(doc), embedder.embed([c.text for c in chunks_of(doc)]))
             for doc in DOCUMENTS]
    for index, batch in ((one, False), (bulk, True)):
        with index.lock(), SnapshotWriter(index, embedder.model_id, embedder.model_name, embedder.dimension) as w:
            if batch:
                w.put_documents(items)
            else:
                for item in items:
                    w.put_document(*item)
            w.commit({})
    a, b = one.open(), bulk.open()
    assert a.catalog.chunk_texts() == b.catalog.chunk_texts() and len(a.vectors) == len(b.vectors) > 0
    assert a.lexical.count() == b.lexical.count()
    a.close(), b.close()


def test_sqlite_builder_pages_stay_in_memory_while_building_but_not_when_served(tmp_path: Path) -> None:
    """A build is one transaction: its connection holds a large page cache (else pages are
    evicted into the WAL and read back for every row); the served snapshot keeps SQLite's
    default 2 MB, so a big index does not grow the server."""
    from retrieval.backends.sqlite_catalog_writer import BUILD_CACHE_KIB, SqliteCatalogBuilder

    builder = SqliteCatalogBuilder.create(tmp_path / "build.sqlite", None)
    assert builder.connection.execute("PRAGMA cache_size").fetchone()[0] == -BUILD_CACHE_KIB
    builder.connection.close()
    write(IndexDir(tmp_path / "index"), DOCUMENTS)
    snapshot = IndexDir(tmp_path / "index").open()
    assert snapshot.catalog.connection.execute("PRAGMA cache_size").fetchone()[0] == -2000
    snapshot.close()


def test_sqlite_document_deletes_use_an_index_on_every_table(tmp_path: Path) -> None:
    """Every put deletes the document first (a replace): a table without an index on its
    document column would be scanned once per document, so an ingest grows quadratically."""
    from retrieval.backends.sqlite_catalog_writer import DOCUMENT_TABLES, SqliteCatalogBuilder

    builder = SqliteCatalogBuilder.create(tmp_path / "build.sqlite", None)
    for table, column in DOCUMENT_TABLES:
        plan = builder.connection.execute(f"EXPLAIN QUERY PLAN DELETE FROM {table} WHERE {column}=?", ("d",)).fetchall()
        assert not any(str(step[-1]).startswith("SCAN") for step in plan), (table, plan)
    builder.connection.close()
