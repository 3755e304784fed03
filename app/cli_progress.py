"""Ingest progress for the ``townsquare`` command: rich bars on a terminal, and plain lines
when stderr is not one (a log file, a pipe, CI), where rich would draw nothing until the end.

A plain line reads ``embedding 2304/4366 (53%) 41 s``: one when a stage starts, one when it
is complete, and between them one every ``every`` seconds of wall time while it runs, whether
or not a step completed meanwhile: a timer thread (:func:`heartbeat`) asks for the line, so a
long step (a model batch on a loaded machine, one big file to load) still shows the time go on.
"""

from __future__ import annotations

import threading
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
BEAT_SECONDS = 1.0
"""How often the timer thread checks whether a line is due (a line is at most this late)."""


@dataclass
class _Stage:
    description: str
    total: float | None
    started: float
    done: float = 0
    shown: float = 0.0

    @property
    def complete(self) -> bool:
        return self.total is not None and self.done >= self.total


class PlainProgress:
    """A :class:`ingest.pipeline.ProgressSink` writing plain lines to ``stream``. Safe to call
    from two threads (the ingest's and the :func:`heartbeat`'s): lines never interleave."""

    def __init__(self, stream: IO[str], every: float = EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.every, self.clock = stream, every, clock
        self.stages: list[_Stage] = []
        self._lock = threading.Lock()

    def add_task(self, description: str, *, total: float | None = None) -> int:
        """Start a stage of ``total`` steps (None: unknown); writes its first line."""
        with self._lock:
            self.stages.append(_Stage(description, total, self.clock()))
            self._line(self.stages[-1])
            return len(self.stages) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        """``advance`` more steps of stage ``task_id``; a line when it completes or when
        ``every`` seconds passed since the last one."""
        with self._lock:
            stage = self.stages[task_id]
            stage.done += advance
            if stage.complete or self.clock() - stage.shown >= self.every:
                self._line(stage)

    def tick(self) -> None:
        """A line for the running stage (the last one started, not yet complete) when ``every``
        seconds passed since its last one, though no step completed: called by :func:`heartbeat`."""
        with self._lock:
            stage = self.stages[-1] if self.stages else None
            if stage is not None and not stage.complete and self.clock() - stage.shown >= self.every:
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
        plain = PlainProgress(console.file)
        with heartbeat(plain):
            yield plain
        return
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        yield progress


@contextmanager
def heartbeat(progress: PlainProgress, beat: float = BEAT_SECONDS) -> Iterator[None]:
    """While the block runs, a daemon thread calls ``progress.tick()`` every ``beat`` seconds,
    so a line is due every ``progress.every`` seconds of wall time, not only when a step
    completes. It sleeps between beats (no cost to the ingest) and is joined on exit."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(beat):
            progress.tick()

    thread = threading.Thread(target=run, name="ingest-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
