"""The loader contract, the records loaders yield, the problem report every loader writes
to, and shared file reading."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from retrieval.records import Member, Resource, Thread

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """A source to load: a file, or a folder or zip claimed whole by one loader.

    ``rel`` is its name relative to the ingested folder, used in problems and as the
    documents' source path. ``max_bytes`` bounds what a loader may read into memory at once
    from one file (streaming loaders may read more, piece by piece).
    """

    path: Path
    rel: str
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Account:
    """A person as one platform knows them, before they are resolved to a member.

    ``handles`` are this person's names on ``source``, the canonical one first (a Slack user
    id, a Discourse username, a lower-cased mail address); any of them may appear in a
    member's ``handles`` in members.jsonl, which then makes the account that member. Posts by
    an account carry :meth:`member_id` as their author until it is resolved.
    """

    source: str
    handles: tuple[str, ...]
    name: str
    origin: str = ""

    @property
    def member_id(self) -> str:
        """The author id posts of this account carry, and the id of the member created for it
        when no member claims it."""
        return account_id(self.source, self.handles[0])


def account_id(source: str, handle: str) -> str:
    """The provisional member id of ``handle`` on ``source`` (``"slack:U024BE7LH"``)."""
    return f"{source}:{handle}"


@dataclass(frozen=True)
class ThreadPage:
    """Part of a thread that may continue in other files (paged API dumps, overlapping chat
    exports). Pages with the same thread id are merged into one thread, posts deduplicated by
    id, before anything is indexed."""

    thread: Thread


Record = Thread | Resource | Member | Account | ThreadPage


@dataclass(frozen=True)
class Problem:
    """Something wrong with the input, located as ``file`` or ``file:line``."""

    where: str
    message: str
    level: Literal["error", "warning"]

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


MAX_PROBLEMS_PER_FILE = 20
"""Problems listed per file; the rest are counted (see :meth:`Report.close`)."""


@dataclass
class Report:
    """Collects problems during an ingest; errors make the command exit non-zero. At most
    :data:`MAX_PROBLEMS_PER_FILE` are listed per file, then one line counts the others."""

    problems: list[Problem] = field(default_factory=list)
    _listed: Counter[str] = field(default_factory=Counter)
    _unlisted: Counter[tuple[str, str]] = field(default_factory=Counter)

    def error(self, where: str, message: str) -> None:
        """Record an error (the offending record is skipped, the rest goes on)."""
        self._add(Problem(where, message, "error"))

    def warning(self, where: str, message: str) -> None:
        """Record a warning (the input was used, or skipped harmlessly)."""
        self._add(Problem(where, message, "warning"))

    def _add(self, problem: Problem) -> None:
        log.debug("%s %s: %s", problem.level, problem.where, problem.message)
        file = problem.where.split(":", 1)[0]
        if self._listed[file] >= MAX_PROBLEMS_PER_FILE:
            self._unlisted[(file, problem.level)] += 1
            return
        self._listed[file] += 1
        self.problems.append(problem)

    def close(self) -> None:
        """Add one line per file and level counting the problems that were not listed."""
        for (file, level), count in sorted(self._unlisted.items()):
            self.problems.append(Problem(file, f"{count} more {level}(s) in this file, not listed", level))  # type: ignore[arg-type]
        self._unlisted.clear()

    @property
    def errors(self) -> list[Problem]:
        """The problems of level error."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of level warning."""
        return [p for p in self.problems if p.level == "warning"]

    def files_with_errors(self) -> set[str]:
        """Relative names of files that had at least one error."""
        return {p.where.split(":", 1)[0] for p in self.errors}


class SourceLoader(Protocol):
    """Reads one kind of source and yields records.

    A file loader (``claims_trees = False``) is offered single files. A tree loader
    (``claims_trees = True``) is offered folders and zip archives, and when it claims one the
    whole of it is its source: nothing inside is offered to other loaders. Matching should
    look at content (a few KB at most, see :func:`head`), not only at names.
    """

    name: str
    claims_trees: bool
    streams: bool
    """True when the loader reads its source piece by piece, so files over the size limit
    (``SourceFile.max_bytes``) are still offered to it; it must then bound its own memory."""

    def matches(self, source: SourceFile) -> bool:
        """True when this loader reads ``source``; must not raise on unreadable input."""
        ...

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """Yield the records of ``source``; report bad parts and go on with the rest."""
        ...


def head(path: Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes of a file, or b"" when it cannot be read (for content sniffing)."""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError:
        return b""


def read_text(source: SourceFile, report: Report) -> str:
    """The file as text: UTF-8, or decoded with replacement characters and a warning."""
    data = source.path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        report.warning(source.rel, f"not valid UTF-8 (byte {e.start}); bad bytes replaced with U+FFFD")
        return data.decode("utf-8", errors="replace")
