"""Crash safety: ``townsquare ingest`` SIGKILLed at random moments — while loading and
chunking, while embedding and writing the new snapshot, and while committing it. After each
kill the index opens and answers with one whole snapshot (the previous one, or the new one
when the kill came after the swap), and the next ingest completes and removes the killed
run's leftover snapshot copy.

Each ingest is the real CLI (``app.cli.main``) in a process forked from a helper that has
already imported it and loaded the model: a SIGKILL still hits a real ingest process, but
the test does not pay the model's start-up eleven times.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from retrieval.index import MANIFEST_FILE, IndexDir
from retrieval.library import Library
from tests.helpers import thread_line, write_small_corpus

pytestmark = pytest.mark.integration

NEW_THREADS = 6
PHASES = ["loading"] * 4 + ["writing"] * 3 + ["committing"] * 3
ZYGOTE = """
import json, os, sys
from app import cli
from retrieval.embedding import load_embedder
load_embedder(None)  # as the CLI calls it: the forked ingests find the model loaded
print("ready", flush=True)
for line in sys.stdin:
    if line.startswith("wait "):  # reaped only when asked: until then the pid cannot be reused
        pid = int(line.split()[1])
        print("exit", pid, os.waitpid(pid, 0)[1], flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1), os.dup2(quiet, 2)
        sys.argv = ["townsquare", *json.loads(line)]
        try:
            cli.main()
        except SystemExit as e:
            os._exit(e.code if isinstance(e.code, int) else 1)
        os._exit(0)
    print("pid", pid, flush=True)
"""


class Forker:
    """The helper process: ``start(argv)`` forks a ``townsquare`` run and returns its pid;
    the run stays unreaped (a zombie once ended) until :meth:`wait`, so signalling its pid
    never reaches another process."""

    def __init__(self) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.process = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).parents[1])
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"
        self.pids: list[int] = []
        self.exits: dict[int, int] = {}
        self.seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, pid, *status = line.split()
            with self.seen:
                (self.exits.__setitem__(int(pid), int(status[0])) if kind == "exit" else self.pids.append(int(pid)))
                self.seen.notify_all()

    def start(self, argv: list[str]) -> int:
        assert self.process.stdin is not None
        with self.seen:
            count = len(self.pids)
            self.process.stdin.write(json.dumps(argv) + "\n")
            self.process.stdin.flush()
            self.seen.wait_for(lambda: len(self.pids) > count, timeout=30)
            return self.pids[-1]

    def wait(self, pid: int, timeout: float = 300) -> int:
        """Reap ``pid`` (a child of the helper) and return its wait status."""
        assert self.process.stdin is not None
        with self.seen:
            self.process.stdin.write(f"wait {pid}\n")
            self.process.stdin.flush()
            assert self.seen.wait_for(lambda: pid in self.exits, timeout=timeout), f"{pid} did not end"
            return self.exits[pid]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def forker() -> Iterator[Forker]:
    helper = Forker()
    yield helper
    helper.close()


def _ids(index_dir: IndexDir) -> frozenset[str]:
    snapshot = index_dir.open()
    try:
        return frozenset(snapshot.catalog.document_hashes())
    finally:
        snapshot.close()


def _new_folders(index_dir: IndexDir, served: str) -> list[Path]:
    return [p for p in index_dir.snapshots_dir.iterdir() if p.name != served]


def _watch(index_dir: IndexDir, until: float, event: str) -> bool:
    """Poll until ``event`` (a new snapshot folder, or its manifest) appears or time is up."""
    served = index_dir.current_path().name  # type: ignore[union-attr]
    while time.monotonic() < until:
        folders = _new_folders(index_dir, served)
        if folders and (event == "folder" or any((p / MANIFEST_FILE).exists() for p in folders)):
            return True
        time.sleep(0.0005)
    return False


def _phase_times(forker: Forker, command: list[str], index_dir: IndexDir) -> tuple[float, float]:
    """An uninterrupted run: seconds until its snapshot folder appears, then until its manifest does."""
    start = time.monotonic()
    pid = forker.start(command)
    assert _watch(index_dir, start + 300, "folder")
    folder = time.monotonic() - start
    assert _watch(index_dir, start + 300, "manifest")
    manifest = time.monotonic() - start
    assert forker.wait(pid) == 0
    return folder, manifest


def _kill_during(phase: str, forker: Forker, command: list[str], index_dir: IndexDir,
                 times: tuple[float, float], rng: random.Random) -> str:
    folder, manifest = times
    start = time.monotonic()
    pid = forker.start(command)
    if phase == "loading":
        time.sleep(rng.uniform(0.05, 0.95) * folder)
    elif phase == "writing":
        _watch(index_dir, start + 300, "folder")
        time.sleep(rng.uniform(0.0, 0.9) * (manifest - folder))
    else:
        _watch(index_dir, start + 300, "manifest")
    os.kill(pid, signal.SIGKILL)  # our unreaped child: alive, or a zombie if it just ended
    status = forker.wait(pid)
    return f"{phase}@{time.monotonic() - start:.2f}s" if os.WIFSIGNALED(status) else f"{phase}: finished first"


def test_killed_ingests_leave_a_whole_index_and_the_next_one_completes(
    tmp_path: Path, embedder, forker: Forker  # type: ignore[no-untyped-def]
) -> None:
    corpus = write_small_corpus(tmp_path / "src")
    base = IndexDir(tmp_path / "base")
    ingest([corpus], base, embedder)
    old_ids = _ids(base)
    with (corpus / "threads.jsonl").open("a") as f:  # work for the killed runs: load, embed, write
        for i in range(NEW_THREADS):
            texts = [f"Question {i} about frame spacing and brace comb in hive {i}?",
                     f"Answer {i}: keep {i % 5 + 6} mm bee space and straight starter strips."]
            f.write(thread_line(f"n-{i}", f"Spacing question {i}", texts) + "\n")

    def fresh(name: str) -> tuple[IndexDir, list[str]]:
        index_dir = IndexDir(tmp_path / name)
        shutil.copytree(base.root, index_dir.root)
        return index_dir, ["ingest", str(corpus), "--index", str(index_dir.root)]

    reference, command = fresh("reference")
    times = _phase_times(forker, command, reference)
    new_ids = _ids(reference)
    assert len(new_ids) == len(old_ids) + NEW_THREADS
    rng = random.Random(20261130)
    outcomes: list[str] = []
    for n, phase in enumerate(PHASES + ["committing"] * 4):  # spares: a commit may finish before the kill
        if n >= len(PHASES) and sum("finished" not in o for o in outcomes) >= 10:
            break
        index_dir, command = fresh(f"run-{n}")
        outcomes.append(_kill_during(phase, forker, command, index_dir, times, rng))
        assert _ids(index_dir) in (old_ids, new_ids), outcomes  # one whole snapshot is served
        assert Library(index_dir, embedder).searcher().search("smoker fuel", k=3), outcomes
        leftovers = {p.name for p in _new_folders(index_dir, index_dir.current_path().name)}  # type: ignore[union-attr]
        summary = ingest([corpus], index_dir, embedder)
        assert summary.errors == 0 and _ids(index_dir) == new_ids, outcomes
        assert not leftovers & {p.name for p in index_dir.snapshots_dir.iterdir()}, outcomes
    killed = [o for o in outcomes if "finished" not in o]
    assert len(killed) >= 10, (times, outcomes)
