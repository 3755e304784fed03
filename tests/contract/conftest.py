"""The ``backend`` fixture every contract suite is parametrised over, and the indexes it builds.

To run the suites against another backend, add its name to :data:`BACKENDS` with a function
giving its :class:`~retrieval.backends.BackendConfig` for a scratch folder (e.g. a local
engine file under it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrieval.backends import BackendConfig
from retrieval.index import IndexDir, Snapshot
from tests.contract.world import DOCUMENTS, HashingEmbedder, write

BACKENDS: dict[str, Callable[[Path], BackendConfig]] = {
    "sqlite-faiss": lambda scratch: BackendConfig("sqlite-faiss"),
    # the kind big indexes get (HNSW over 8-bit codes, exact rescoring), forced on a small one
    "sqlite-faiss-sq8": lambda scratch: BackendConfig(
        "sqlite-faiss", {"faiss": {"hnsw_threshold": 0, "quantize_threshold": 0}}),
    "sqlite-sparse-faiss": lambda scratch: BackendConfig("sqlite-sparse-faiss"),
    "milvus": lambda scratch: BackendConfig("milvus", {"milvus": {"uri": str(scratch / "milvus.db")}}),
}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BackendConfig:
    """The configuration of one backend under test (scratch data in a fresh folder)."""
    return BACKENDS[request.param](tmp_path_factory.mktemp(f"{request.param}-scratch"))


@pytest.fixture
def index_dir(backend: BackendConfig, tmp_path: Path) -> IndexDir:
    """An empty index directory using ``backend``."""
    return IndexDir(tmp_path / "index", backend)


@pytest.fixture(scope="module")
def world(backend: BackendConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshot]:
    """The contract world written in one ingest, opened (shared by a module's read-only tests)."""
    index_dir = IndexDir(tmp_path_factory.mktemp("world"), backend)
    write(index_dir, DOCUMENTS)
    snapshot = index_dir.open(HashingEmbedder.model_id)
    yield snapshot
    snapshot.close()


@pytest.fixture
def empty(index_dir: IndexDir) -> Iterator[Snapshot]:
    """An index committed with nothing in it, opened."""
    write(index_dir, [], members=[])
    snapshot = index_dir.open(HashingEmbedder.model_id)
    yield snapshot
    snapshot.close()
