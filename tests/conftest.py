"""Shared fixtures: one real index of the sample corpus per test session, temp data dirs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.settings import get_settings  # noqa: E402
from ingest.pipeline import IngestSummary, ingest  # noqa: E402
from retrieval.embedding import Embedder, load_embedder  # noqa: E402
from retrieval.index import IndexDir  # noqa: E402
from retrieval.library import Library  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
MENTOR_KEY = "mentor-key-0001"
MEMBER_KEY = "member-key-0002"
API_KEYS: dict[str, object] = {
    MENTOR_KEY: {"groups": ["mentors"], "role": "facilitator", "name": "mentor"},  # the new shape
    MEMBER_KEY: ["members"],  # the old shape: a member of these groups
}


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data dir and freshly read settings."""
    monkeypatch.setenv("TOWNSQUARE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("TOWNSQUARE_CONFIG", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default embedder (model and runtime), loaded once."""
    return load_embedder()


@pytest.fixture(scope="session")
def sample_build(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[IndexDir, IngestSummary]:
    """The sample corpus ingested once with the real model, FAISS and SQLite."""
    root = tmp_path_factory.mktemp("sample-index")
    index_dir = IndexDir(root)
    summary = ingest([SAMPLE], index_dir, embedder)
    return index_dir, summary


@pytest.fixture(scope="session")
def sample_index(sample_build: tuple[IndexDir, IngestSummary]) -> IndexDir:
    """The session's sample index directory (treat as read-only; copy it to modify)."""
    return sample_build[0]


@pytest.fixture(scope="session")
def library(sample_index: IndexDir, embedder: Embedder) -> Library:
    """A served view of the sample index."""
    return Library(sample_index, embedder)


@pytest.fixture
def index_copy(sample_index: IndexDir, tmp_path: Path) -> IndexDir:
    """A private copy of the sample index that a test may change."""
    target = tmp_path / "index-copy"
    shutil.copytree(sample_index.root, target)
    return IndexDir(target)


@pytest.fixture(scope="session")
def api_server(sample_index: IndexDir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``townsquare serve`` (uvicorn subprocess) on a copy of the sample index, with
    :data:`API_KEYS`; yields its base URL. The copy keeps the API's activity log out of the
    shared index."""
    from tests.api_server import serve_api

    folder = tmp_path_factory.mktemp("served")
    shutil.copytree(sample_index.root, folder / "index")
    with serve_api(folder / "index", API_KEYS, folder / "api.log") as url:
        yield url
