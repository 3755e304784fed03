"""One index directory: immutable snapshots (storage backend files + manifest) and an atomic swap.

Layout (default backend ``sqlite-faiss``)::

    DIR/CURRENT                  name of the snapshot being served
    DIR/snapshots/<name>/index.sqlite, vectors.faiss, manifest.json
    DIR/ingest.lock              held while a writer builds a new snapshot

A writer (``writer.py``) builds a new folder seeded from the current snapshot through the
backend's builders, writes the manifest last and then replaces ``CURRENT`` with
``os.replace``. A reader therefore sees either the old snapshot or the new one, never half an
ingest; a failed or killed writer leaves ``CURRENT`` untouched and its folder is swept by the
next successful write. The manifest names the backend that built the snapshot; readers open
it with that backend (options from the :class:`~retrieval.backends.BackendConfig`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retrieval.backends import DEFAULT_BACKEND, FTS5_BACKEND, BackendConfig, drop_storage, open_storage
from retrieval.errors import ConfigError, IndexStateError, IngestError, ModelMismatchError
from retrieval.storage import Catalog, LexicalIndex, VectorIndex

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"


@dataclass
class Manifest:
    """What built a snapshot and what it holds."""

    model_id: str
    model_name: str
    dimension: int
    vector_kind: str = "flat"
    counts: dict[str, int] = field(default_factory=dict)
    created_at: str = ""
    schema_version: int = SCHEMA_VERSION
    last_ingest: dict[str, object] = field(default_factory=dict)
    backend: str = FTS5_BACKEND
    """The backend that built the snapshot (manifests older than the field: ``sqlite-faiss``,
    the only backend then)."""
    storage: dict[str, dict[str, object]] = field(default_factory=dict)
    """Facts each index reported at commit (``vectors.kind``, ...)."""

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load ``manifest.json`` from a snapshot folder."""
        try:
            return cls(**json.loads((path / MANIFEST_FILE).read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise IndexStateError(f"{path / MANIFEST_FILE}: unreadable manifest ({e})") from e

    def write(self, path: Path) -> None:
        """Write ``manifest.json`` into a snapshot folder, durably."""
        tmp = path / (MANIFEST_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        _fsync(tmp)
        os.replace(tmp, path / MANIFEST_FILE)


class Snapshot:
    """A read-only, immutable index snapshot: catalog, lexical and vector indexes, manifest."""

    def __init__(self, path: Path, backend: BackendConfig | None = None) -> None:
        self.path = path
        self.manifest = Manifest.read(path)
        storage = open_storage(backend or BackendConfig(), self.manifest.backend, path, self.manifest.dimension)
        self._storage = storage
        self.catalog: Catalog = storage.catalog
        self.lexical: LexicalIndex = storage.lexical
        self.vectors: VectorIndex = storage.vectors

    @property
    def name(self) -> str:
        """The snapshot's folder name."""
        return self.path.name

    def size_bytes(self) -> int:
        """Bytes on disk of this snapshot's files."""
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    def close(self) -> None:
        """Release the backend's files and connections."""
        self._storage.close()


class IndexDir:
    """An index directory on disk; opens snapshots for reading and builds new ones."""

    def __init__(self, root: Path, backend: BackendConfig | None = None) -> None:
        self.root = Path(root)
        self.backend = backend or BackendConfig()

    @property
    def snapshots_dir(self) -> Path:
        """Folder holding every snapshot."""
        return self.root / "snapshots"

    def current_path(self) -> Path | None:
        """The snapshot named by ``CURRENT``, or None when nothing was ever committed."""
        try:
            name = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return self.snapshots_dir / name if name else None

    def exists(self) -> bool:
        """True when a committed snapshot is being served."""
        return self.current_path() is not None

    def open(self, model_id: str | None = None) -> Snapshot:
        """Open the current snapshot read-only.

        Args:
            model_id: the configured embedder's id; a different id in the manifest is an error.

        Raises:
            IndexStateError: no index at this directory.
            ModelMismatchError: the index was built with another model.
        """
        path = self.current_path()
        if path is None or not (path / MANIFEST_FILE).exists():
            raise IndexStateError(
                f"no index at {self.root} (build one with: townsquare ingest PATH --index {self.root})"
            )
        snapshot = Snapshot(path, self.backend)
        check_model(snapshot.manifest, model_id, self.root)
        return snapshot

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory's ingest lock; a second writer fails at once with a clear error."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "ingest.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise IngestError(f"another ingest is writing to {self.root}") from e
            yield

    def sweep_unserved(self) -> list[str]:
        """Remove every snapshot folder but the served one (the caller holds :meth:`lock`):
        copies left by a killed writer, and older snapshots. Readers that still have an old
        snapshot open keep their open files (POSIX); new readers only open ``CURRENT``.
        Returns the names removed."""
        current = self.current_path()
        if not self.snapshots_dir.is_dir():
            return []
        removed = []
        for other in self.snapshots_dir.iterdir():
            if current is None or other.name != current.name:
                self.sweep(other)
                removed.append(other.name)
        if removed:
            log.info("removed unserved snapshot folders: %s", ", ".join(sorted(removed)))
        return removed

    def new_snapshot_path(self) -> Path:
        """A fresh, empty folder for a snapshot being built."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.snapshots_dir / f"snap-{stamp}-{os.getpid()}"
        path.mkdir(parents=True)
        return path

    def commit(self, path: Path) -> None:
        """Make ``path`` the served snapshot and sweep all but it and its predecessor."""
        previous = self.current_path()
        for item in path.iterdir():
            _fsync(item)
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(path.name + "\n")
        _fsync(tmp)
        os.replace(tmp, self.root / "CURRENT")
        _fsync(self.root)
        keep = {path.name, previous.name if previous else ""}
        for other in self.snapshots_dir.iterdir():
            if other.name not in keep:
                self.sweep(other)

    def sweep(self, path: Path) -> None:
        """Remove a snapshot that is not served, with what its backend keeps elsewhere. A
        folder without a manifest (a killed ingest) is taken to be the configured backend's."""
        try:
            manifest = Manifest.read(path)
            backend, dimension = manifest.backend, manifest.dimension
        except IndexStateError:
            backend, dimension = self.backend.name, 0
        try:
            drop_storage(self.backend, backend, path, dimension)
        except Exception:  # noqa: BLE001 - a stale leftover must not fail a committed ingest
            log.warning("could not release the storage of %s", path, exc_info=True)
        shutil.rmtree(path, ignore_errors=True)


def backend_to_build(manifest: Manifest, configured: BackendConfig, root: Path) -> BackendConfig:
    """The backend a new snapshot over ``manifest``'s is built with: the one that built the
    index when the configuration names the default (an index keeps its backend when the
    default changes), else the configured one, which must be the same.

    Raises:
        ConfigError: a non-default backend is configured for an index built by another.
    """
    if configured.name == DEFAULT_BACKEND and manifest.backend != DEFAULT_BACKEND:
        return BackendConfig(manifest.backend, configured.options)
    check_backend(manifest, configured.name, root)
    return configured


def check_backend(manifest: Manifest, backend: str, root: Path) -> None:
    """Refuse to build onto a snapshot written by a different backend."""
    if manifest.backend != backend:
        raise ConfigError(
            f"index {root} was built with backend {manifest.backend!r}, but the configured backend is "
            f"{backend!r}; ingest into a new --index directory"
        )


def check_model(manifest: Manifest, model_id: str | None, root: Path) -> None:
    """Refuse an index built with a different embedding model."""
    if model_id is not None and manifest.model_id != model_id:
        raise ModelMismatchError(
            f"index {root} was built with model {manifest.model_name} ({manifest.model_id}), "
            f"but the configured model is {model_id}; re-ingest into a new --index directory"
        )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_iso() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot_stats(snapshot: Snapshot) -> dict[str, Any]:
    """Counts, model, backend, index size and the last ingest's summary of a snapshot."""
    manifest = snapshot.manifest
    return {
        "counts": manifest.counts,
        "model": {"name": manifest.model_name, "id": manifest.model_id, "dimension": manifest.dimension},
        "vector_index": manifest.vector_kind,
        "backend": manifest.backend,
        "snapshot": snapshot.name,
        "created_at": manifest.created_at,
        "size_bytes": snapshot.size_bytes(),
        "last_ingest": manifest.last_ingest,
    }
