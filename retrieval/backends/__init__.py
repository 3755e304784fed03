"""Storage backends: one registry per Protocol of ``retrieval/storage.py``, and the named
combinations a deployment picks with one setting (``TOWNSQUARE_BACKEND``).

Registries map a config string to a zero-argument loader of the component's factory, so a
backend's heavy imports (FAISS, an engine client) happen only when it is used. An unknown
name is a :class:`~retrieval.errors.ConfigError` listing the known ones.

Options: each component receives the settings stored under its own name, e.g.
``{"faiss": {"hnsw_threshold": 200000}}`` gives the FAISS factory ``{"hnsw_threshold": 200000}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from retrieval.activity_store import ActivityFactory
from retrieval.errors import ConfigError
from retrieval.storage import (
    CatalogFactory,
    LexicalFactory,
    Place,
    Storage,
    StorageBuilder,
    VectorFactory,
)

DEFAULT_BACKEND = "sqlite-sparse-faiss"
"""The backend of new indexes: BM25 over a sparse term matrix beside SQLite and FAISS (same
rankings as FTS5 on every benchmark set, 4-10x faster on long questions: docs/benchmarks.md,
sparse-bm25). An existing index keeps the backend it was built with."""
FTS5_BACKEND = "sqlite-faiss"
"""The default before the sparse index; manifests written before the ``backend`` field name it."""


def _sqlite_catalog() -> CatalogFactory:
    from retrieval.backends.sqlite_catalog import SqliteCatalogFactory

    return SqliteCatalogFactory()


def _fts5() -> LexicalFactory:
    from retrieval.backends.fts5 import Fts5Factory

    return Fts5Factory()


def _sparse() -> LexicalFactory:
    from retrieval.backends.sparse_bm25 import SparseFactory

    return SparseFactory()


def _faiss() -> VectorFactory:
    from retrieval.backends.faiss_vectors import FaissFactory

    return FaissFactory()


def _milvus_lexical() -> LexicalFactory:
    from retrieval.backends.milvus import MilvusLexicalFactory

    return MilvusLexicalFactory()


def _milvus_vectors() -> VectorFactory:
    from retrieval.backends.milvus import MilvusVectorFactory

    return MilvusVectorFactory()


def _sqlite_activity() -> ActivityFactory:
    from retrieval.backends.sqlite_activity import SqliteActivityFactory

    return SqliteActivityFactory()


CATALOGS: dict[str, Callable[[], CatalogFactory]] = {"sqlite": _sqlite_catalog}
LEXICAL_INDEXES: dict[str, Callable[[], LexicalFactory]] = {
    "fts5": _fts5, "sparse": _sparse, "milvus": _milvus_lexical}
VECTOR_INDEXES: dict[str, Callable[[], VectorFactory]] = {"faiss": _faiss, "milvus": _milvus_vectors}
ACTIVITY_STORES: dict[str, Callable[[], ActivityFactory]] = {"sqlite": _sqlite_activity}
"""Where asked questions and feedback live (``app/activity.py``), beside the snapshots."""


@dataclass(frozen=True)
class Combination:
    """The registry names of a backend's catalog, lexical index and vector index."""

    catalog: str
    lexical: str
    vectors: str


BACKENDS: dict[str, Combination] = {
    FTS5_BACKEND: Combination("sqlite", "fts5", "faiss"),
    DEFAULT_BACKEND: Combination("sqlite", "sparse", "faiss"),
    "milvus": Combination("sqlite", "milvus", "milvus"),
}
"""``sqlite-sparse-faiss`` (the default): BM25 over a sparse term matrix
(``retrieval/backends/sparse_bm25.py``); ``sqlite-faiss``: SQLite FTS5's bm25()."""

T = TypeVar("T")


def pick(registry: Mapping[str, Callable[[], T]], name: str, what: str) -> T:
    """The factory registered as ``name``; an unknown name lists the known ones."""
    try:
        loader = registry[name]
    except KeyError:
        raise ConfigError(f"unknown {what} backend {name!r}; known: {', '.join(sorted(registry))}") from None
    return loader()


def combination(name: str) -> Combination:
    """The parts of backend ``name``; an unknown name lists the known ones."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}") from None


@dataclass(frozen=True)
class BackendConfig:
    """Which backend an index directory uses, and every component's options by name."""

    name: str = DEFAULT_BACKEND
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def place(self, component: str, path: Path, dimension: int, previous: Path | None = None) -> Place:
        """The :class:`Place` of ``component`` (a registry name) in snapshot ``path``."""
        return Place(path, dimension, dict(self.options.get(component, {})), previous)


def open_storage(config: BackendConfig, backend: str, path: Path, dimension: int) -> Storage:
    """Open snapshot ``path``, built by ``backend``, read-only (options from ``config``)."""
    parts = combination(backend)
    catalog = pick(CATALOGS, parts.catalog, "catalog").open(config.place(parts.catalog, path, dimension))
    try:
        lexical = pick(LEXICAL_INDEXES, parts.lexical, "lexical").open(
            config.place(parts.lexical, path, dimension), catalog)
        vectors = pick(VECTOR_INDEXES, parts.vectors, "vector").open(
            config.place(parts.vectors, path, dimension), catalog)
    except BaseException:
        catalog.close()
        raise
    return Storage(catalog, lexical, vectors)


def build_storage(config: BackendConfig, path: Path, dimension: int, previous: Path | None,
                  fresh_lexical: bool = False) -> StorageBuilder:
    """Start building snapshot ``path`` with the configured backend, from ``previous``; with
    ``fresh_lexical`` the lexical index starts empty (a migration from another lexical index
    fills it from the catalog's chunk texts)."""
    parts = combination(config.name)
    catalog = pick(CATALOGS, parts.catalog, "catalog").build(config.place(parts.catalog, path, dimension, previous))
    built: list[Any] = [catalog]
    try:
        lexical = pick(LEXICAL_INDEXES, parts.lexical, "lexical").build(
            config.place(parts.lexical, path, dimension, None if fresh_lexical else previous), catalog)
        built.append(lexical)
        vectors = pick(VECTOR_INDEXES, parts.vectors, "vector").build(
            config.place(parts.vectors, path, dimension, previous), catalog)
    except BaseException:
        for part in reversed(built):
            part.discard()
        raise
    return StorageBuilder(catalog, lexical, vectors)


def drop_storage(config: BackendConfig, backend: str, path: Path, dimension: int) -> None:
    """Release what swept snapshot ``path`` (built by ``backend``) held outside its folder."""
    parts = combination(backend)
    pick(VECTOR_INDEXES, parts.vectors, "vector").drop(config.place(parts.vectors, path, dimension))
    pick(LEXICAL_INDEXES, parts.lexical, "lexical").drop(config.place(parts.lexical, path, dimension))
    pick(CATALOGS, parts.catalog, "catalog").drop(config.place(parts.catalog, path, dimension))


def limit_threads(threads: int) -> None:
    """Cap the threads the in-process vector backends use per query (the API server)."""
    from retrieval.backends.faiss_index import limit_threads as limit_faiss_threads

    limit_faiss_threads(threads)
