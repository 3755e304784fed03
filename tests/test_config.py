"""Configuration errors are one clear line naming the setting (never its secret values);
commands that do not need a bad setting keep working; the page reads only its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.index import IndexDir
from ui.settings import PageSettings

TOWNSQUARE = str(Path(sys.executable).parent / "townsquare")
SECRET = "very-secret-key-1234"


def _run(*args: str, keys: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(HF_HUB_OFFLINE="1", TOWNSQUARE_API_KEYS=keys)
    return subprocess.run([TOWNSQUARE, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.integration
@pytest.mark.parametrize("keys", ["not json", f'{{"{SECRET}": "mentors"}}', f'["{SECRET}"]'])
def test_bad_api_keys_fail_serve_in_one_line_and_stats_still_works(keys: str, sample_index: IndexDir) -> None:
    served = _run("serve", "--index", str(sample_index.root), "--port", "1", keys=keys)
    assert served.returncode == 2
    lines = served.stderr.strip().splitlines()
    assert len(lines) == 1 and "TOWNSQUARE_API_KEYS" in lines[0], served.stderr
    assert SECRET not in served.stderr + served.stdout
    stats = _run("stats", "--index", str(sample_index.root), keys=keys)
    assert stats.returncode == 0, stats.stderr
    assert "chunks" in stats.stdout and SECRET not in stats.stderr + stats.stdout
    assert "TOWNSQUARE_API_KEYS" in stats.stderr  # said once, as a warning


@pytest.mark.unit
def test_the_page_reads_only_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOWNSQUARE_API_KEYS", "not json")
    monkeypatch.setenv("TOWNSQUARE_MAX_K", "-5")
    monkeypatch.setenv("TOWNSQUARE_API_URL", "http://127.0.0.1:9999")
    settings = PageSettings()
    assert settings.api_url == "http://127.0.0.1:9999" and not hasattr(settings, "api_key")
