"""The loader contract, the problem report every loader writes to, and shared file reading."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from retrieval.records import Member, Resource, Thread

log = logging.getLogger(__name__)

Record = Thread | Resource | Member


@dataclass(frozen=True)
class SourceFile:
    """A file to load: its path on disk and its name relative to the ingested folder."""

    path: Path
    rel: str


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
    """Reads one kind of file and yields Thread, Resource and Member records."""

    name: str

    def matches(self, source: SourceFile) -> bool:
        """True when this loader reads ``source``."""
        ...

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """Yield the records of ``source``; report bad parts and go on with the rest."""
        ...


def read_text(source: SourceFile, report: Report) -> str:
    """The file as text: UTF-8, or decoded with replacement characters and a warning."""
    data = source.path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        report.warning(source.rel, f"not valid UTF-8 (byte {e.start}); bad bytes replaced with U+FFFD")
        return data.decode("utf-8", errors="replace")
