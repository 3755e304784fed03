"""Crash safety: ``townsquare ingest`` SIGKILLed at random moments — while starting and
loading, while embedding and writing the new snapshot, and while committing it. After each
kill the index opens and answers with one whole snapshot (the previous one, or the new one
when the kill came after the swap), and the next ingest completes and removes the killed
run's leftover snapshot copy.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from retrieval.index import MANIFEST_FILE, IndexDir
from retrieval.library import Library
from tests.helpers import thread_line, write_small_corpus

pytestmark = pytest.mark.integration

TOWNSQUARE = str(Path(sys.executable).parent / "townsquare")
PHASES = ["loading"] * 4 + ["writing"] * 4 + ["committing"] * 3


def _ids(index_dir: IndexDir) -> frozenset[str]:
    snapshot = index_dir.open()
    try:
        return frozenset(r[0] for r in snapshot.db.execute("SELECT id FROM documents"))
    finally:
        snapshot.close()


def _new_folders(index_dir: IndexDir, served: str) -> list[Path]:
    folder = index_dir.snapshots_dir
    return [p for p in folder.iterdir() if p.name != served] if folder.is_dir() else []


def _kill_during(phase: str, command: list[str], index_dir: IndexDir, rng: random.Random, startup: float) -> str:
    """Start the ingest and SIGKILL it in ``phase``; returns the phase it really died in."""
    served = index_dir.current_path().name  # type: ignore[union-attr]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    started = time.monotonic()
    if phase == "loading":
        time.sleep(rng.uniform(0.2, 1.0) * startup)
    else:
        while process.poll() is None and not _new_folders(index_dir, served):
            time.sleep(0.002)
        if phase == "writing":
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            while process.poll() is None and not any((p / MANIFEST_FILE).exists()
                                                     for p in _new_folders(index_dir, served)):
                time.sleep(0.0005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return f"{phase}@{time.monotonic() - started:.2f}s" if process.returncode == -signal.SIGKILL else "finished"


def test_killed_ingests_leave_a_whole_index_and_the_next_one_completes(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    base = IndexDir(tmp_path / "base")
    ingest([corpus], base, embedder)
    old_ids = _ids(base)
    with (corpus / "threads.jsonl").open("a") as f:  # work for the killed runs: load, embed, write
        for i in range(40):
            texts = [f"Question {i} about frame spacing and brace comb in hive {i}?",
                     f"Answer {i}: keep {i % 5 + 6} mm bee space and straight starter strips."]
            f.write(thread_line(f"n-{i}", f"Spacing question {i}", texts) + "\n")
    rng = random.Random(20261130)
    startup = 4.0
    outcomes = []
    for n, phase in enumerate(PHASES):
        index_dir = IndexDir(tmp_path / f"run-{n}")
        shutil.copytree(base.root, index_dir.root)
        command = [TOWNSQUARE, "ingest", str(corpus), "--index", str(index_dir.root)]
        t0 = time.monotonic()
        outcomes.append(_kill_during(phase, command, index_dir, rng, startup))
        if phase != "loading":
            startup = max(1.0, time.monotonic() - t0 - 1.0)  # learn how long start-up takes here
        served_ids = _ids(index_dir)  # opens: a whole snapshot is served
        assert served_ids == old_ids or (served_ids > old_ids and len(served_ids) == len(old_ids) + 40), outcomes
        hits = Library(index_dir, embedder).searcher().search("smoker fuel", k=3)
        assert hits, outcomes
        leftovers = {p.name for p in _new_folders(index_dir, index_dir.current_path().name)}  # type: ignore[union-attr]
        summary = ingest([corpus], index_dir, embedder)
        assert summary.errors == 0 and len(_ids(index_dir)) == len(old_ids) + 40
        assert not leftovers & {p.name for p in index_dir.snapshots_dir.iterdir()}, outcomes
    killed = [o for o in outcomes if o != "finished"]
    assert len(killed) >= 10, outcomes
