"""Splitting an mbox (or a Mailman/pipermail monthly ``.txt`` archive) into raw messages,
reading a binary stream line by line so a file of any size never sits in memory whole.

Python's :mod:`mailbox` decodes ``From_`` separator lines as ASCII and raises
``UnicodeDecodeError`` on the 8-bit bytes real archives hold there, so separators are found
here, on bytes. A line is a separator when it starts with ``From `` and either has the
asctime date mbox writers put there (``From x at y  Tue May  7 10:00:00 2024``) or follows a
blank line and holds a clock time; body lines starting with ``From `` are normally escaped
as ``>From `` by the writer (one ``>`` is removed again, the mboxrd rule).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

DAYS = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
MONTHS = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
STRICT_FROM = re.compile(rb"^From \S.*\s" + DAYS + rb",? +" + MONTHS + rb" +\d{1,2} +\d{1,2}:\d{2}(?::\d{2})?")
LOOSE_FROM = re.compile(rb"^From \S.*\d:\d\d")
ESCAPED_FROM = re.compile(rb"^>(>*From )")
HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
GZIP_SUFFIXES = (".gz",)
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class RawMessage:
    """One message as bytes: ``line`` is the 1-based line of its ``From_`` separator;
    ``data`` is None when the message was larger than the limit (it was not kept)."""

    line: int
    separator: bytes
    data: bytes | None


def is_gzip_name(name: str) -> bool:
    """True for names of gzip-compressed archives (``2024-May.txt.gz``)."""
    return name.lower().endswith(GZIP_SUFFIXES)


def open_archive(stream: IO[bytes], name: str) -> IO[bytes]:
    """``stream`` itself, or a decompressing view of it when it holds gzip data.

    Decided by the gzip magic bytes when ``stream`` can ``peek`` (files and zip members can),
    else by ``name``: a pipermail ``2024-May.txt.gz`` saved by a browser is often already
    decompressed (the server sends it with ``Content-Encoding: gzip``) and is plain text.
    """
    peek = getattr(stream, "peek", None)
    compressed = peek(2)[:2] == GZIP_MAGIC if callable(peek) else is_gzip_name(name)
    return gzip.GzipFile(fileobj=stream, mode="rb") if compressed else stream  # type: ignore[return-value]


def looks_like_mbox(head: bytes, name: str = "") -> bool:
    """True when ``head`` (the first bytes of a file, decompressed first when they are gzip
    data, whatever ``name`` says) starts with a ``From `` line followed by a mail header
    line; never raises."""
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 8192)
        except zlib.error:
            return False
    lines = head.lstrip(b"\r\n").splitlines()
    return len(lines) >= 2 and lines[0].startswith(b"From ") and bool(HEADER_LINE.match(lines[1]))


def is_separator(line: bytes, after_blank: bool) -> bool:
    """True when ``line`` starts a new message (see the module docstring)."""
    if not line.startswith(b"From "):
        return False
    return bool(STRICT_FROM.match(line)) or (after_blank and bool(LOOSE_FROM.match(line)))


def split_messages(lines: Iterable[bytes], max_bytes: int) -> Iterator[RawMessage]:
    """The messages of an mbox given as its lines (bytes, line ends kept).

    Lines before the first separator are not a message: when any of them holds text, a
    :class:`NotAnMbox` error names the first such line. A message over ``max_bytes`` is
    yielded with ``data=None`` instead of being kept in memory.
    """
    start, separator, size = 0, b"", 0
    parts: list[bytes] | None = None
    after_blank = True
    number = 0
    for number, line in enumerate(lines, start=1):
        if is_separator(line, after_blank or not separator):
            if separator:
                yield _finish(start, separator, parts)
            start, separator, size, parts = number, line.rstrip(b"\r\n"), 0, []
        elif not separator:
            if line.strip():
                raise NotAnMbox(number)
        elif parts is not None:
            size += len(line)
            parts.append(ESCAPED_FROM.sub(rb"\1", line))
            if size > max_bytes:
                parts = None
        after_blank = not line.strip()
    if separator:
        yield _finish(start, separator, parts)


def _finish(start: int, separator: bytes, parts: list[bytes] | None) -> RawMessage:
    return RawMessage(start, separator, None if parts is None else b"".join(parts))


class NotAnMbox(ValueError):
    """The text before the first ``From_`` separator is not empty: not an mbox."""

    def __init__(self, line: int) -> None:
        super().__init__(f"not an mbox archive: line {line} comes before any 'From ' separator line")
        self.line = line
