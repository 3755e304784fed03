"""Moving an index to another storage backend without re-ingesting: ``townsquare migrate``.

Only the lexical index can change this way (e.g. ``sqlite-faiss``, FTS5, to
``sqlite-sparse-faiss``, sparse BM25, the default of new indexes since 2026-12-01): the new
snapshot copies the served one's catalog and vectors, and its lexical index is built from
the catalog's chunk texts (no model runs; the copies dominate: 23 s for 100k chunks here,
plus one HNSW build when flat vectors above 50k convert, as at any ingest). A
catalog or vector change needs a fresh ingest into a new folder. Like an ingest, the new
snapshot is swapped in atomically under the index's ingest lock: a failure leaves the served
one untouched, and a server picks the new one up at its next look.
"""

from __future__ import annotations

import logging

from retrieval.backends import BackendConfig, combination
from retrieval.errors import ConfigError, IndexStateError
from retrieval.index import IndexDir, Manifest, Snapshot
from retrieval.views import ChunkEntry
from retrieval.writer import SnapshotWriter

log = logging.getLogger(__name__)

BATCH = 5000
"""Chunk texts handed to the lexical builder at a time."""
UNKNOWN_GROUPS = ("townsquare:migrate-unknown",)
"""The groups the rebuilt entries carry. Lexical indexes take visibility from the catalog at
query time (``Catalog.select_chunks``), never from their entries; should one ever keep the
entries' groups, this group, which no caller has, hides the chunks instead of exposing them."""


def migrate(index_dir: IndexDir, target: BackendConfig) -> Manifest | None:
    """Rebuild ``index_dir``'s served snapshot with backend ``target``; None when the index
    already uses it.

    Raises:
        IndexStateError: no index in ``index_dir``.
        IngestError: another ingest holds the index's lock.
        ConfigError: ``target`` is unknown, or differs from the index's backend in its
            catalog or vector index (only the lexical index is rebuilt).
    """
    current = index_dir.current_path()
    if current is None:
        raise IndexStateError(f"no index at {index_dir.root}")
    manifest = Manifest.read(current)
    if manifest.backend == target.name:
        return None
    have, want = combination(manifest.backend), combination(target.name)
    if (have.catalog, have.vectors) != (want.catalog, want.vectors):
        raise ConfigError(
            f"index {index_dir.root} uses backend {manifest.backend!r} ({have.catalog} catalog, {have.vectors} "
            f"vectors); {target.name!r} ({want.catalog}, {want.vectors}) needs a fresh ingest into a new --index "
            "directory: migrate rebuilds only the lexical index")
    with index_dir.lock():
        current = index_dir.current_path()  # another writer may have committed meanwhile
        assert current is not None
        source = Snapshot(current, BackendConfig(manifest.backend))
        try:
            texts = source.catalog.chunk_texts()
            with SnapshotWriter(index_dir, source.manifest.model_id, source.manifest.model_name,
                                source.manifest.dimension, migrate_to=target) as writer:
                if have.lexical == "fts5" and want.lexical != "fts5":
                    from retrieval.backends.fts5 import drop_table, sqlite_catalog

                    drop_table(sqlite_catalog(writer.parts.catalog).connection)  # type: ignore[arg-type]
                for at in range(0, len(texts), BATCH):
                    writer.parts.lexical.add([ChunkEntry(i, doc, "", "", "", None, (), None, UNKNOWN_GROUPS, text)
                                              for i, doc, text in texts[at:at + BATCH]])
                built = writer.commit(source.manifest.last_ingest)
        finally:
            source.close()
    log.info("migrated %s from %s to %s (%d chunks)", index_dir.root, manifest.backend, target.name, len(texts))
    return built
