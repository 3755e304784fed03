"""Real servers for the page's tests and screenshots: the API (``townsquare serve``) and the
page (``streamlit run ui/page.py``), each a subprocess on a free local port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A local TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 240.0) -> None:
    """Poll ``url`` until it answers 200; fail with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not come up within {timeout:g} s:\n{log.read_text()[-3000:]}")


@contextmanager
def _running(command: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_up(health, process, log)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    return {**env, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra}


@contextmanager
def serve_api(index_root: Path, api_keys: dict[str, object], log: Path, **settings: str) -> Iterator[str]:
    """``townsquare serve`` on ``index_root``; yields the base URL once /health answers.
    Rate limits are off unless ``settings`` (``TOWNSQUARE_*`` variables) set them."""
    port = free_port()
    command = [str(BIN / "townsquare"), "serve", "--index", str(index_root), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    defaults = {"TOWNSQUARE_RATE_LIMIT__PER_MINUTE": "0", "TOWNSQUARE_RATE_LIMIT__PER_MINUTE_KEY": "0"}
    env = _env(TOWNSQUARE_API_KEYS=json.dumps(api_keys), **{**defaults, **settings})
    with _running(command, env, f"{url}/health", log):
        yield url


@contextmanager
def serve_page(api_url: str, log: Path) -> Iterator[str]:
    """``streamlit run ui/page.py`` talking to ``api_url``; yields the page URL once it is healthy."""
    with serve_streamlit(ROOT / "ui" / "page.py", log, TOWNSQUARE_API_URL=api_url) as url:
        yield url


@contextmanager
def serve_streamlit(script: Path, log: Path, **env: str) -> Iterator[str]:
    """``streamlit run script`` with ``env`` added; yields the page URL once it is healthy."""
    port = free_port()
    command = [
        str(BIN / "streamlit"), "run", str(script), "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--global.developmentMode", "false", "--client.toolbarMode", "viewer",
    ]
    url = f"http://127.0.0.1:{port}"
    with _running(command, _env(**env), f"{url}/_stcore/health", log):
        yield url


CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
CHROMIUM = "/usr/bin/chromium"
