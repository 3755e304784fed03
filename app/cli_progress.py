"""Ingest progress for the ``townsquare`` command: rich bars on a terminal, and plain lines
when stderr is not one (a log file, a pipe, CI), where rich would draw nothing until the end.

A plain line reads ``embedding 2304/4366 (53%) 41 s``: one when a stage starts, then at most
one every ``every`` seconds while it runs, and one when it is complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:  # the pipeline's imports are heavy; the command imports it when it runs
    from ingest.pipeline import ProgressSink

EVERY_SECONDS = 10.0
"""Seconds between two plain progress lines of a running stage."""


@dataclass
class _Stage:
    description: str
    total: float | None
    started: float
    done: float = 0
    shown: float = 0.0


class PlainProgress:
    """A :class:`ingest.pipeline.ProgressSink` writing plain lines to ``stream``."""

    def __init__(self, stream: IO[str], every: float = EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.every, self.clock = stream, every, clock
        self.stages: list[_Stage] = []

    def add_task(self, description: str, *, total: float | None = None) -> int:
        """Start a stage of ``total`` steps (None: unknown); writes its first line."""
        self.stages.append(_Stage(description, total, self.clock()))
        self._line(self.stages[-1])
        return len(self.stages) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        """``advance`` more steps of stage ``task_id``; a line when it completes or when
        ``every`` seconds passed since the last one."""
        stage = self.stages[task_id]
        stage.done += advance
        complete = stage.total is not None and stage.done >= stage.total
        if complete or self.clock() - stage.shown >= self.every:
            self._line(stage)

    def _line(self, stage: _Stage) -> None:
        stage.shown = now = self.clock()
        done = f"{stage.done:g}"
        if stage.total is not None:
            share = f" ({stage.done / stage.total:.0%})" if stage.total else ""
            done = f"{done}/{stage.total:g}{share}"
        self.stream.write(f"{stage.description} {done} {now - stage.started:.0f} s\n")
        self.stream.flush()


@contextmanager
def ingest_progress(console: Console) -> Iterator[ProgressSink]:
    """Progress bars on ``console`` when it is a terminal, plain lines on its file otherwise."""
    if not console.is_terminal:
        yield PlainProgress(console.file)
        return
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        yield progress
