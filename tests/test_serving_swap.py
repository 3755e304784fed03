"""Serving while ingesting: a real server answers without errors while ingests swap new
snapshots in, shows new documents without a restart, and keeps only the served snapshot open
once no request uses an older one."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest
from retrieval.index import IndexDir
from retrieval.library import Library
from tests.api_server import serve_api
from tests.helpers import thread_line, write_small_corpus


def _server_pid(port: str) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in args and port.encode() in args:
                return int(entry.name)
    raise AssertionError(f"no server process on port {port}")


def _open_snapshot_files(pid: int) -> list[str]:
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if "/snapshots/" in target:
            targets.append(target)
    return targets


def _add_thread(corpus: Path, n: int) -> None:
    with (corpus / "threads.jsonl").open("a") as f:
        f.write(thread_line(f"new-{n}", f"Observation hive number {n}",
                            [f"Is a glass observation hive number {n} worth it?", "Yes, for teaching."]) + "\n")


@pytest.mark.e2e
def test_no_errors_while_ingests_swap_in_and_old_snapshots_are_closed(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    index_dir = IndexDir(tmp_path / "ix")
    ingest([corpus], index_dir, embedder)
    failures: list[str] = []
    done = threading.Event()

    def traffic(url: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not done.is_set():
                for method, path, kwargs in (("GET", "/search", {"params": {"q": "observation hive"}}),
                                             ("POST", "/ask", {"json": {"question": "Which smoker fuel?"}}),
                                             ("GET", "/threads/a-1", {}), ("GET", "/overview", {})):
                    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code} {response.text[:200]}")

    with serve_api(index_dir.root, {}, tmp_path / "api.log") as url:
        worker = threading.Thread(target=traffic, args=(url,))
        worker.start()
        try:
            for n in range(3):
                _add_thread(corpus, n)
                ingest([corpus], index_dir, embedder)
                time.sleep(1.5)  # the server looks for a new snapshot at most every second
        finally:
            done.set()
            worker.join()
        hits = httpx.get(f"{url}/search", params={"q": "glass observation hive number 2"}, timeout=60).json()["hits"]
        httpx.get(f"{url}/health", timeout=30)
        open_files = _open_snapshot_files(_server_pid(url.rsplit(":", 1)[1]))
    assert failures == []
    assert hits and hits[0]["thread_id"] == "new-2"
    served = index_dir.current_path().name  # type: ignore[union-attr]
    assert open_files and all(f"/snapshots/{served}/" in f for f in open_files), open_files


@pytest.mark.integration
def test_a_leased_snapshot_stays_open_until_released(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    index_dir = IndexDir(tmp_path / "ix")
    ingest([corpus], index_dir, embedder)
    library = Library(index_dir, embedder)
    with library.lease() as pinned:
        first = pinned.snapshot().name
        _add_thread(corpus, 9)
        ingest([corpus], index_dir, embedder)
        time.sleep(1.1)
        with library.lease() as newer:
            assert newer.snapshot().name != first
            assert library.open_snapshots() == [newer.snapshot().name, first]
        assert pinned.searcher().search("smoker fuel", k=1)  # the old snapshot still answers
    assert library.open_snapshots() == [library.snapshot().name]
