"""The ``townsquare`` command's edges: bad settings are one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _townsquare(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from app.cli import main; main()", *args]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_an_invalid_setting_is_one_line_naming_it_not_a_traceback(tmp_path: Path) -> None:
    done = _townsquare("stats", "--index", str(tmp_path), env={"TOWNSQUARE_API_KEYS": '{"short": ["mentors"]}'})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "API_KEYS" in done.stderr.upper() and "shorter than 8" in done.stderr
