"""Finding the sources to ingest under the given paths, and the loader for each.

A folder is first offered whole to the tree loaders (a Slack export, a Stack Exchange dump);
if one claims it, it is one source and nothing inside is looked at separately. Otherwise its
files are offered one by one (zip archives to the tree loaders, other files to the file
loaders) and its sub-folders in turn. ``--format`` skips the detection: the forced loader
reads every path given (a file loader every file under a folder).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.sources import loader_for
from ingest.sources.base import DEFAULT_MAX_BYTES, Report, SourceFile, SourceLoader
from ingest.sources.resource_meta import SIDECAR_SUFFIX
from ingest.sources.tree import is_zip

Found = tuple[SourceFile, SourceLoader]


def discover(
    paths: Iterable[Path], report: Report, max_file_bytes: int = DEFAULT_MAX_BYTES,
    forced: SourceLoader | None = None,
) -> list[Found]:
    """Every source under ``paths`` that a loader reads, with its loader, in a stable order.

    Names are relative to the folder given (a file or claimed folder given directly keeps its
    own name). Unknown types are skipped with a warning, oversize files (read whole by file
    loaders) with an error, a missing path with an error; hidden files and folders and
    metadata sidecars are passed over silently.
    """
    found: list[Found] = []
    for root in map(Path, paths):
        if not root.exists():
            report.error(str(root), "no such file or folder")
        elif forced is not None:
            found.extend(_forced(root, forced, report, max_file_bytes))
        else:
            found.extend(_detect(root, root, report, max_file_bytes))
    return found


def _detect(path: Path, root: Path, report: Report, max_bytes: int) -> Iterator[Found]:
    source = SourceFile(path, _rel(path, root), max_bytes)
    if path.is_dir() or is_zip(path):
        loader = loader_for(source, tree=True)
        if loader is not None:
            yield source, loader
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if not _hidden(child, root):
                    yield from _detect(child, root, report, max_bytes)
        else:
            report.warning(source.rel, "skipped: a zip archive that no loader recognises")
    elif path.is_file() and not source.rel.endswith(SIDECAR_SUFFIX):
        loader = loader_for(source)
        if loader is None:
            report.warning(source.rel, f"skipped: unknown file type {path.suffix or '(none)'}")
        elif _fits(source, loader, report):
            yield source, loader


def _forced(root: Path, loader: SourceLoader, report: Report, max_bytes: int) -> Iterator[Found]:
    if loader.claims_trees or root.is_file():
        source = SourceFile(root, root.name, max_bytes)
        if _fits(source, loader, report):
            yield source, loader
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p, root)):
        source = SourceFile(path, _rel(path, root), max_bytes)
        if not source.rel.endswith(SIDECAR_SUFFIX) and _fits(source, loader, report):
            yield source, loader


def _rel(path: Path, root: Path) -> str:
    return path.name if path == root else path.relative_to(root).as_posix()


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _fits(source: SourceFile, loader: SourceLoader, report: Report) -> bool:
    """Streaming loaders take files of any size; others read a file whole, so it must fit."""
    if loader.streams or source.path.is_dir():
        return True
    size = source.path.stat().st_size
    if size <= source.max_bytes:
        return True
    report.error(
        source.rel, f"skipped: {size / 1024 / 1024:.1f} MB is over the {source.max_bytes / 1024 / 1024:.1f} MB limit"
    )
    return False
