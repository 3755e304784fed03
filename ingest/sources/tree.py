"""A folder or a zip archive read as one source: the shape of Slack, Stack Exchange and
Groups.io exports.

Loaders that claim a whole export see it through :class:`Tree`, so the same loader reads the
folder a user unpacked and the zip the platform handed out. Names inside a tree are POSIX paths
relative to its root. A zip whose entries all sit under one top folder (``export/users.json``)
is rooted at that folder, as if the user had unpacked it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from ingest.safety import leaves_root

ZIP_SUFFIXES = (".zip",)
ESCAPED = "skipped: a symlink to outside the ingested folder"

Warn = Callable[[str, str], None]
"""Where a tree reports a file it passes over: ``warn(name, reason)`` (``Report.warning``)."""


class Tree(Protocol):
    """Read-only view of a folder or zip archive."""

    label: str
    """How problems name this tree (the source's relative name)."""

    def names(self) -> list[str]:
        """Every file in the tree, as sorted POSIX paths relative to its root (hidden files left out)."""
        ...

    def open(self, name: str) -> IO[bytes]:
        """A binary stream of ``name``; streamed, never read whole by this method."""
        ...

    def size(self, name: str) -> int:
        """Size of ``name`` in bytes (uncompressed)."""
        ...


class FolderTree:
    """A folder on disk. A file that is, once symlinks are followed, outside the folder is
    left out of :meth:`names` (reported through ``warn`` when given) and refused by
    :meth:`open`: the same rule discovery applies to the folders it walks
    (:func:`ingest.safety.leaves_root`)."""

    def __init__(self, root: Path, label: str, warn: Warn | None = None) -> None:
        self.root = root
        self.label = label
        self.warn = warn
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        """See :class:`Tree`."""
        if self._names is None:
            found = []
            for path in self.root.rglob("*"):
                rel = path.relative_to(self.root)
                if any(part.startswith(".") for part in rel.parts) or not path.is_file():
                    continue
                if leaves_root(path, self.root):
                    if self.warn is not None:
                        self.warn(f"{self.label}/{rel.as_posix()}", ESCAPED)
                    continue
                found.append(rel.as_posix())
            self._names = sorted(found)
        return self._names

    def open(self, name: str) -> IO[bytes]:
        """See :class:`Tree`.

        Raises:
            PermissionError: ``name`` leads, through a symlink, outside the folder.
        """
        path = self.root / name
        if leaves_root(path, self.root):
            raise PermissionError(f"{self.label}/{name}: {ESCAPED}")
        return path.open("rb")

    def size(self, name: str) -> int:
        """See :class:`Tree`."""
        return (self.root / name).stat().st_size


class ZipTree:
    """A zip archive, rooted at its single top folder when it has one."""

    def __init__(self, archive: zipfile.ZipFile, label: str) -> None:
        self.archive = archive
        self.label = label
        files = [i for i in archive.infolist() if not i.is_dir() and not _junk(i.filename)]
        tops = {PurePosixPath(i.filename).parts[0] for i in files}
        nested = len(tops) == 1 and all(len(PurePosixPath(i.filename).parts) > 1 for i in files)
        self.prefix = f"{tops.pop()}/" if nested else ""
        self._infos = {i.filename[len(self.prefix) :]: i for i in files}

    def names(self) -> list[str]:
        """See :class:`Tree`."""
        return sorted(self._infos)

    def open(self, name: str) -> IO[bytes]:
        """See :class:`Tree`."""
        return self.archive.open(self._infos[name])

    def size(self, name: str) -> int:
        """See :class:`Tree`."""
        return self._infos[name].file_size


def _junk(name: str) -> bool:
    """Hidden entries and the resource forks macOS adds to archives it makes."""
    return not name or any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(name).parts)


def is_zip(path: Path) -> bool:
    """True for a file named like a zip archive (the content is checked when opened)."""
    return path.is_file() and path.suffix.lower() in ZIP_SUFFIXES


@contextmanager
def open_tree(path: Path, label: str, warn: Warn | None = None) -> Iterator[Tree]:
    """The folder or zip at ``path`` as a :class:`Tree`; ``warn`` hears of files a folder
    tree passes over (see :class:`FolderTree`).

    Raises:
        zipfile.BadZipFile: ``path`` is named like a zip but is not a readable archive.
        NotADirectoryError: ``path`` is neither a folder nor a zip.
    """
    if path.is_dir():
        yield FolderTree(path, label, warn)
    elif is_zip(path):
        with zipfile.ZipFile(path) as archive:
            yield ZipTree(archive, label)
    else:
        raise NotADirectoryError(f"{label}: not a folder or zip archive")


def tree_names(path: Path) -> list[str]:
    """The file names of the folder or zip at ``path`` (empty if it cannot be read)."""
    try:
        with open_tree(path, path.name) as tree:
            return tree.names()
    except (OSError, zipfile.BadZipFile, NotADirectoryError):
        return []
