"""A summary of the files in a folder, built once and reused while the folder is unchanged.

Loaders that must look beside the file they read (Discourse pages of one topic, Discord
exports of one channel) summarise the folder once instead of once per file: with thousands of
files in a folder, rebuilding per file would cost thousands of times the folder. The summary is
rebuilt when the folder's own modification time changes (files added, removed or renamed) or
when the file being read is not the one summarised (changed size or time).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
Files = list[tuple[str, int]]
"""(file name, size in bytes) of the folder's matching files, sorted by name."""


@dataclass
class _Entry(Generic[T]):
    folder_time: int
    files: dict[str, tuple[int, int]]
    value: T


class FolderCache(Generic[T]):
    """Summaries of folders made by ``build(folder, files)``, the latest ``size`` kept."""

    def __init__(self, build: Callable[[Path, Files], T], pattern: str = "*.json", size: int = 8) -> None:
        self.build = build
        self.pattern = pattern
        self.size = size
        self._entries: OrderedDict[Path, _Entry[T]] = OrderedDict()

    def get(self, path: Path) -> T:
        """The summary of the folder holding ``path`` (an empty one if it cannot be listed)."""
        folder = path.parent
        try:
            folder_time = folder.stat().st_mtime_ns
            stat = path.stat()
            entry = self._entries.get(folder)
            if entry and entry.folder_time == folder_time and entry.files.get(path.name) == (stat.st_mtime_ns,
                                                                                               stat.st_size):
                return entry.value
            files = {}
            for child in sorted(folder.glob(self.pattern)):
                if child.is_file():
                    child_stat = child.stat()
                    files[child.name] = (child_stat.st_mtime_ns, child_stat.st_size)
        except OSError:
            return self.build(folder, [])
        value = self.build(folder, [(name, size) for name, (_, size) in files.items()])
        self._entries[folder] = _Entry(folder_time, files, value)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value
