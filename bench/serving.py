"""What the latency benchmarks share: ``townsquare serve`` in a subprocess, timing loops,
percentiles and a process's memory."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO

WARMUP = 20
NO_RATE_LIMIT = {"TOWNSQUARE_RATE_LIMIT__PER_MINUTE": "0", "TOWNSQUARE_RATE_LIMIT__PER_MINUTE_KEY": "0"}
"""A benchmark client makes hundreds of requests a minute from one address."""


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, in the same unit."""
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, in MB (from /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    read = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]  # noqa: E731
    return read("VmRSS"), read("VmHWM")


class Server:
    """``townsquare serve`` on an index, in a subprocess, for the length of a ``with``.
    ``command`` replaces the ``townsquare`` executable (e.g. another checkout's)."""

    def __init__(self, index: Path, log: Path, env: dict[str, str] | None = None,
                 command: list[str] | None = None, cwd: Path = REPO) -> None:
        self.index, self.port, self.log, self.env = index, free_port(), log, env or {}
        self.command = command or [str(REPO / ".venv" / "bin" / "townsquare")]
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **NO_RATE_LIMIT}
        env.pop("OMP_NUM_THREADS", None)
        env.update(self.env)
        command = [*self.command, "serve", "--index", str(self.index), "--port", str(self.port)]
        self.log_file = self.log.open("wb")
        self.proc = subprocess.Popen(command, cwd=self.cwd, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds until ``/health`` answers 200; raises if the server dies or never answers."""
        import httpx

        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"server not ready after {timeout:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log_file.close()


def timed(queries: list[str], make: Callable[[str], Callable[[], Any]], warmup: int = WARMUP) -> list[float]:
    """Milliseconds per call of ``make(q)()`` for each query, after ``warmup`` warm-up calls."""
    for q in queries[:warmup]:
        make(q)()
    out = []
    for q in queries:
        call = make(q)
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out
