"""Stack Exchange dump as the Internet Archive hands it out: one ``.7z`` archive per site
(``cardano.stackexchange.com.7z``; Stack Overflow's tables come one per archive, as
``stackoverflow.com-Posts.7z``).

7z archives cannot be read one member as a stream the way zips can, so the dump files are
unpacked (with py7zr) into a temporary folder, read there like any unpacked dump, and the
folder is removed afterwards. That needs free disk space about the size of the unpacked dump;
memory stays flat. Only the dump's table files are unpacked.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import py7zr

from ingest.sources.base import Record, Report, SourceFile
from ingest.sources.stackexchange import DUMP_FILES, load_dump
from ingest.sources.tree import FolderTree

log = logging.getLogger(__name__)

WANTED = {f"{kind.lower()}.xml" for kind in DUMP_FILES}


def dump_members(archive: py7zr.SevenZipFile) -> list[str]:
    """The archive's dump table files at its root or under one top folder (never a name that
    could climb out of the folder it is unpacked into)."""
    found = []
    for name in archive.getnames():
        parts = name.split("/")
        safe = len(parts) <= 2 and all(p not in ("", ".", "..") and "\\" not in p for p in parts)
        if safe and parts[-1].lower() in WANTED:
            found.append(name)
    return found


class StackExchange7zLoader:
    """File loader for a Stack Exchange dump in a ``.7z`` archive."""

    name = "stackexchange-7z"
    claims_trees = False
    streams = True

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`: a ``.7z`` holding a Posts.xml."""
        if source.path.suffix.lower() != ".7z":
            return False
        try:
            with py7zr.SevenZipFile(source.path, "r") as archive:
                return any(n.lower().rsplit("/", 1)[-1] == "posts.xml" for n in dump_members(archive))
        except Exception:  # noqa: BLE001 - detection must never raise
            return False

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        with tempfile.TemporaryDirectory(prefix="townsquare-se7z-") as folder:
            try:
                with py7zr.SevenZipFile(source.path, "r") as archive:
                    members = dump_members(archive)
                    archive.extract(path=folder, targets=members)
            except Exception as e:  # noqa: BLE001 - py7zr raises many kinds (CRC, LZMA, header) on corrupt archives
                report.error(source.rel, f"not a readable 7z archive ({type(e).__name__}: {e}); skipped")
                return
            root = Path(folder)
            tops = {m.split("/", 1)[0] for m in members if "/" in m}
            if len(tops) == 1 and not any("/" not in m for m in members):
                root = root / tops.pop()
            yield from load_dump(source, FolderTree(root, source.rel, report.warning), report)
