"""A folder or a zip archive read as one source: the shape of Slack, Stack Exchange and
Groups.io exports.

Loaders that claim a whole export see it through :class:`Tree`, so the same loader reads the
folder a user unpacked and the zip the platform handed out. Names inside a tree are POSIX paths
relative to its root. A zip whose entries all sit under one top folder (``export/users.json``)
is rooted at that folder, as if the user had unpacked it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

ZIP_SUFFIXES = (".zip",)


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
    """A folder on disk."""

    def __init__(self, root: Path, label: str) -> None:
        self.root = root
        self.label = label

    def names(self) -> list[str]:
        """See :class:`Tree`."""
        found = []
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                found.append(rel.as_posix())
        return sorted(found)

    def open(self, name: str) -> IO[bytes]:
        """See :class:`Tree`."""
        return (self.root / name).open("rb")

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
def open_tree(path: Path, label: str) -> Iterator[Tree]:
    """The folder or zip at ``path`` as a :class:`Tree`.

    Raises:
        zipfile.BadZipFile: ``path`` is named like a zip but is not a readable archive.
        NotADirectoryError: ``path`` is neither a folder nor a zip.
    """
    if path.is_dir():
        yield FolderTree(path, label)
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
