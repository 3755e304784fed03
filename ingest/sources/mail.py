"""Mailing-list archives: mbox files, Mailman/pipermail monthly archives (``.txt``,
``.txt.gz``) and the zip Groups.io hands out (``messages.mbox`` inside).

Two loaders share the reading and threading:

- ``mbox`` (a file loader) reads one archive file, found by content (the first line starts
  with ``From `` and a mail header follows) or by the ``.mbox`` name;
- ``mail-archive`` (a tree loader) claims a folder whose files are all mail archives (a
  pipermail folder of months) or a zip holding ``.mbox`` files (Groups.io), and threads all
  of its files together, so a thread started in May continues in June.

Both stream: files are read line by line (gzip decompressed on the fly) and only one message
at a time is held as bytes. Archives are public unless a ``<name>.meta.yaml`` sidecar beside
the file, folder or zip (or beside a folder holding it) says ``visibility: [group, ...]``;
an unreadable sidecar skips the archive (fail closed).
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO

from ingest.sources.base import Record, Report, SourceFile, head
from ingest.sources.mail_parse import Mail, parse_mail
from ingest.sources.mail_stream import NotAnMbox, looks_like_mbox, open_archive, split_messages
from ingest.sources.mail_threads import thread_records
from ingest.sources.resource_meta import SIDECAR_SUFFIX, sidecar_meta
from ingest.sources.tree import Tree, is_zip, open_tree
from retrieval.records import PUBLIC

log = logging.getLogger(__name__)

MBOX_SUFFIXES = (".mbox", ".mbox.gz")
ARCHIVE_SUFFIXES = (*MBOX_SUFFIXES, ".txt", ".txt.gz")
PIPERMAIL_MONTH = re.compile(r"^\d{4}-(?:[A-Za-z]+|q\d|\d{2})\.txt(?:\.gz)?$", re.IGNORECASE)
MAX_LINE = 1 << 20
GENERIC_STEMS = {"messages", "mbox", "inbox", "archive", "mail"}


def read_mails(stream: IO[bytes], name: str, where: str, max_bytes: int, report: Report) -> Iterator[Mail]:
    """The messages of one archive stream, each as a :class:`Mail`; bad messages and read
    errors are reported as ``where:line`` and skipped (a read error ends the file)."""
    line = 0
    try:
        archive = open_archive(stream, name)
        lines = iter(partial(archive.readline, MAX_LINE), b"")  # a line without end never fills memory
        for raw in split_messages(lines, max_bytes):
            line = raw.line
            if raw.data is None:
                report.error(f"{where}:{raw.line}", f"message larger than {max_bytes} bytes; skipped")
                continue
            try:
                yield parse_mail(raw, f"{where}:{raw.line}")
            except Exception as e:  # noqa: BLE001 - one malformed message must not cost the archive
                log.debug("unreadable message at %s:%s", where, raw.line, exc_info=True)
                report.error(f"{where}:{raw.line}", f"unreadable message ({type(e).__name__}: {e}); skipped")
    except NotAnMbox as e:
        report.error(f"{where}:{e.line}", f"{e}; file skipped")
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        report.error(f"{where}:{line or 1}", f"could not be read past this message ({type(e).__name__}: {e})")


def default_channel(name: str, container: str) -> str:
    """The list name for mail without a ``List-Id``: the folder holding a pipermail month or
    a generically named mbox (``messages.mbox``), else the file's own stem."""
    base = PurePosixPath(name).name
    stem = re.sub(r"(\.(txt|mbox|gz))+$", "", base, flags=re.IGNORECASE)
    if PIPERMAIL_MONTH.match(base) or stem.lower() in GENERIC_STEMS or not stem:
        return container
    return stem


def visibility_of(source: SourceFile, report: Report) -> tuple[str, ...] | None:
    """Groups from the nearest ``.meta.yaml`` sidecar of ``source``, of a folder holding it
    inside the ingested folder, or of the ingested folder itself; public without one; None
    (skip, reported) when that sidecar is unreadable or invalid."""
    holder = sidecar_holder(source)
    if holder is None:
        return PUBLIC
    meta = sidecar_meta(holder, report)
    if meta is None:
        report.error(source.rel, "skipped: its visibility sidecar is unreadable")
        return None
    return PUBLIC if meta.visibility == "public" else tuple(sorted(set(meta.visibility)))


def sidecar_holder(source: SourceFile) -> SourceFile | None:
    """The nearest of ``source`` and the folders above it (up to the ingested folder) that
    has a ``<name>.meta.yaml`` sidecar beside it, or None."""
    parts = PurePosixPath(source.rel).parts
    path = source.path
    for depth in range(len(parts) + 1):
        rel = "/".join(parts[: len(parts) - depth]) or path.name
        if path.name and path.with_name(path.name + SIDECAR_SUFFIX).exists():
            return SourceFile(path, rel, source.max_bytes)
        path = path.parent
    return None


def _with_channel(mails: Iterator[Mail], channel: str) -> Iterator[Mail]:
    for mail in mails:
        yield mail if mail.list_id else replace(mail, list_id=channel)


class MboxLoader:
    """Loader for one mbox or pipermail archive file (``.mbox``, ``.txt``, ``.txt.gz``, ...)."""

    name = "mbox"
    claims_trees = False
    streams = True

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        lower = source.path.name.lower()
        return lower.endswith(MBOX_SUFFIXES) or looks_like_mbox(head(source.path), lower)

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        visibility = visibility_of(source, report)
        if visibility is None:
            return
        channel = default_channel(source.path.name, source.path.parent.name or "mail")
        with source.path.open("rb") as stream:
            mails = list(_with_channel(read_mails(stream, source.path.name, source.rel, source.max_bytes, report),
                                       channel))
        if not mails:
            report.warning(source.rel, "no messages")
        yield from thread_records(mails, visibility, report)


class MailArchiveLoader:
    """Loader for a folder of mail archives (pipermail months) or a Groups.io zip."""

    name = "mail-archive"
    claims_trees = True
    streams = True

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        try:
            with open_tree(source.path, source.rel) as tree:
                return _is_mail_tree(tree, source.path.is_dir())
        except (OSError, zipfile.BadZipFile, NotADirectoryError, RuntimeError, ValueError):
            return False

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        visibility = visibility_of(source, report)
        if visibility is None:
            return
        if is_zip(source.path) and sidecar_holder(source) is None:
            report.warning(source.rel, "Groups.io archives are often members-only; read as public "
                           "(add a .meta.yaml sidecar with visibility: [group] if this one is not)")
        try:
            with open_tree(source.path, source.rel, report.warning) as tree:
                mails = list(self._tree_mails(tree, source, report))
        except (OSError, zipfile.BadZipFile, NotADirectoryError) as e:
            report.error(source.rel, f"not a readable folder or zip archive ({type(e).__name__}: {e}); skipped")
            return
        if not mails:
            report.warning(source.rel, "no messages")
        yield from thread_records(mails, visibility, report)

    def _tree_mails(self, tree: Tree, source: SourceFile, report: Report) -> Iterator[Mail]:
        top = re.sub(r"\.zip$", "", Path(source.rel).name, flags=re.IGNORECASE)
        for name in tree.names():
            where = f"{tree.label}:{name}"
            if not _archive_entry(tree, name):
                report.warning(where, "not a mail archive; skipped")
                continue
            parent = PurePosixPath(name).parent.name or top
            try:
                with tree.open(name) as stream:
                    yield from _with_channel(read_mails(stream, name, where, source.max_bytes, report),
                                             default_channel(name, parent))
            except (OSError, zipfile.BadZipFile, RuntimeError) as e:
                report.error(where, f"could not be opened ({type(e).__name__}: {e}); skipped")


def _is_mail_tree(tree: Tree, folder: bool) -> bool:
    """A zip with an ``.mbox`` inside (Groups.io), or a folder whose files all are archives."""
    names = tree.names()
    if not names:
        return False
    if not folder:
        return any(n.lower().endswith(MBOX_SUFFIXES) for n in names)
    return all(_archive_entry(tree, name) for name in names)


def _archive_entry(tree: Tree, name: str) -> bool:
    """An ``.mbox`` file, or a ``.txt``/``.txt.gz`` file whose content is an mbox."""
    lower = name.lower()
    if lower.endswith(MBOX_SUFFIXES):
        return True
    if not lower.endswith(ARCHIVE_SUFFIXES):
        return False
    try:
        with tree.open(name) as stream:
            return looks_like_mbox(stream.read(4096), name)
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return False
