"""Finding the files to ingest under the given paths."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ingest.safety import leaves_root
from ingest.sources import loader_for
from ingest.sources.base import Report, SourceFile
from ingest.sources.resource_meta import SIDECAR_SUFFIX


def discover(paths: Iterable[Path], report: Report, max_file_bytes: int) -> list[SourceFile]:
    """Every readable file under ``paths`` that a loader knows, in a stable order.

    Names are relative to the folder given (a file given directly keeps its own name).
    Unknown types are skipped with a warning, oversize files with an error; hidden files
    and metadata sidecars are passed over silently.
    """
    found: list[SourceFile] = []
    for root in paths:
        root = Path(root)
        if not root.exists():
            report.error(str(root), "no such file or folder")
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            rel = path.name if path == root else path.relative_to(root).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts) or rel.endswith(SIDECAR_SUFFIX):
                continue
            if path != root and leaves_root(path, root):
                report.warning(rel, "skipped: a symlink to outside the ingested folder")
                continue
            source = SourceFile(path, rel)
            if loader_for(source) is None:
                report.warning(rel, f"skipped: unknown file type {path.suffix or '(none)'}")
            elif path.stat().st_size > max_file_bytes:
                size_mb = path.stat().st_size / 1024 / 1024
                report.error(rel, f"skipped: {size_mb:.1f} MB is over the {max_file_bytes / 1024 / 1024:.1f} MB limit")
            else:
                found.append(source)
    return found
