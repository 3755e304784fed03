"""What ``--prune`` may remove: only documents that came from under the paths given in this
run, whose source is gone, and only when every given path (and every folder under it)
could be read. Anything else keeps its documents: a missing mount or an unreadable folder
must never look like deleted sources.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ingest.sources.base import Report
from retrieval.errors import IngestError


def checked_roots(paths: Iterable[Path]) -> list[Path]:
    """The given paths, absolute, when each exists and can be read.

    Raises:
        IngestError: naming the first path that is missing or unreadable; nothing is pruned.
    """
    roots = []
    for path in map(Path, paths):
        if not path.exists():
            raise IngestError(f"{path}: no such file or folder; nothing was ingested or pruned")
        try:
            if path.is_dir():
                os.scandir(path).close()
            else:
                path.open("rb").close()
        except OSError as e:
            raise IngestError(f"{path}: cannot be read ({e.strerror}); nothing was ingested or pruned") from e
        roots.append(path.resolve())
    return roots


def unreadable_folders(roots: Iterable[Path]) -> list[Path]:
    """Folders under ``roots`` that could not be listed (their documents must be kept)."""
    failed: list[Path] = []
    for root in roots:
        if root.is_dir():
            for _ in os.walk(root, onerror=lambda e: failed.append(Path(e.filename))):
                pass
    return failed


def prunable(stored: dict[str, str], seen: set[str], roots: list[Path], kept: list[Path]) -> list[str]:
    """Ids of stored documents to remove.

    Args:
        stored: every stored document id -> the absolute path of the file it came from.
            Paths that are not absolute (indexes built before paths were recorded) are never
            pruned: nobody can tell which folder they belonged to.
        seen: ids loaded in this run.
        roots: the absolute paths given in this run.
        kept: absolute files and folders whose documents stay whatever happens (files that
            had errors in this run, folders that could not be listed).
    """
    def under(source: str, places: list[Path]) -> bool:
        path = Path(source)
        return path.is_absolute() and any(path == place or place in path.parents for place in places)

    return sorted(
        doc_id for doc_id, source in stored.items()
        if doc_id not in seen and under(source, roots) and not under(source, kept)
    )


def removals(stored: dict[str, str], seen: set[str], roots: list[Path], kept_files: list[Path],
             report: Report) -> list[str]:
    """:func:`prunable` for one ingest run: files with errors and folders under ``roots`` that
    could not be listed keep their documents (each folder reported as an error)."""
    kept = [path.resolve() for path in kept_files]
    for folder in unreadable_folders(roots):
        report.error(str(folder), "folder cannot be read; its documents are kept, not pruned")
        kept.append(folder.resolve())
    return prunable(stored, seen, roots, kept)
