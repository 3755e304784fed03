"""The Milvus backend end to end: real model, embedded Milvus (milvus-lite), the real ingest
pipeline, the features through ``Library``, and ``townsquare serve`` over HTTP.

The contract suites (tests/contract) already hold Milvus to every filter and visibility rule;
these tests check that whole questions flow through it as they do through the default."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest
from retrieval.backends import BackendConfig
from retrieval.filters import Filters
from retrieval.index import IndexDir
from retrieval.library import Library
from tests.api_server import BIN
from tests.helpers import thread_line, write_small_corpus

pytestmark = pytest.mark.integration

MILVUS = BackendConfig("milvus")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small corpus plus one mentors-only thread."""
    folder = write_small_corpus(tmp_path_factory.mktemp("milvus-src"))
    with (folder / "threads.jsonl").open("a") as f:
        f.write(thread_line("p-1", "Where the mentors keep the spare queens", [
            "Does anyone know where the spare queens are kept?",
            "Spare mated queens sit in a nuc behind the Quarry Lane shed. Ask before taking one."],
            channel="mentors", visibility=["mentors"]) + "\n")
    return folder


@pytest.fixture(scope="module")
def default_index(corpus: Path, embedder, tmp_path_factory: pytest.TempPathFactory) -> IndexDir:  # type: ignore[no-untyped-def]
    index_dir = IndexDir(tmp_path_factory.mktemp("default-index"))
    ingest([corpus], index_dir, embedder)
    return index_dir


@pytest.fixture(scope="module")
def milvus_index(corpus: Path, embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexDir]:  # type: ignore[no-untyped-def]
    index_dir = IndexDir(tmp_path_factory.mktemp("milvus-index"), MILVUS)
    summary = ingest([corpus], index_dir, embedder)
    assert summary.errors == 0, [str(p) for p in summary.problems]
    yield index_dir


QUERIES = ["burlap as smoker fuel", "what must a honey label show", "starter strip frames", "spare queens"]


def test_milvus_ranks_as_the_default_backend_does(milvus_index: IndexDir, default_index: IndexDir, embedder) -> None:  # type: ignore[no-untyped-def]
    milvus, default = Library(milvus_index, embedder), Library(default_index, embedder)
    try:
        for query in QUERIES:
            for groups in ((), ("mentors",)):
                ranked = {
                    name: [h.doc_id for h in lib.searcher().search(query, k=5, groups=groups, mode="dense")]
                    for name, lib in (("milvus", milvus), ("default", default))
                }
                assert ranked["milvus"] == ranked["default"], (query, groups)
                firsts = [lib.searcher().search(query, k=1, groups=groups, mode="hybrid")[0].doc_id
                          for lib in (milvus, default)]
                assert firsts[0] == firsts[1], (query, groups)
    finally:
        milvus.snapshot().close()
        default.snapshot().close()


def test_questions_flow_through_milvus_with_visibility_held(milvus_index: IndexDir, embedder) -> None:  # type: ignore[no-untyped-def]
    library = Library(milvus_index, embedder)
    try:
        assert library.snapshot().manifest.backend == "milvus"
        for mode in ("dense", "lexical", "hybrid"):
            assert library.searcher().search("burlap as smoker fuel", k=1, mode=mode), mode
            assert all(h.doc_id != "p-1" for h in library.searcher().search("spare queens nuc", k=10, mode=mode))
        mentors = library.searcher().search("spare queens nuc", k=1, groups=("mentors",))
        assert mentors[0].doc_id == "p-1"
        only_guides = library.searcher().search("smoker", k=5, filters=Filters(kind="resource"))
        assert {h.doc_id for h in only_guides} == {"guide.md"}
        answer = library.ask("Where are the spare queens kept?")
        assert "Quarry Lane" not in answer.text and all(c.doc_id != "p-1" for c in answer.citations)
        assert "Quarry Lane" in library.ask("Where are the spare queens kept?", groups=("mentors",)).text
        assert all(e.member_id != "m02" for e in library.experts("smoker fuel"))  # m02 opted out
    finally:
        library.snapshot().close()


def test_reingest_writes_a_new_generation_and_open_readers_keep_theirs(
    milvus_index: IndexDir, corpus: Path, embedder  # type: ignore[no-untyped-def]
) -> None:
    old = milvus_index.open(embedder.model_id)
    try:
        with (corpus / "threads.jsonl").open("a") as f:
            f.write(thread_line("a-9", "Propolis tincture", ["How do I make one?", "Grain alcohol, two weeks."]) + "\n")
        summary = ingest([corpus], milvus_index, embedder)
        assert summary.documents_new == 1 and summary.chunks_embedded == 2
        new = milvus_index.open(embedder.model_id)
        try:
            assert len(new.vectors) == len(old.vectors) + 2 == new.lexical.count()
            assert new.lexical.search("propolis tincture", 5, Filters(), ())
            assert old.lexical.search("propolis tincture", 5, Filters(), ()) == []
        finally:
            new.close()
        assert ingest([corpus], milvus_index, embedder).chunks_embedded == 0
    finally:
        old.close()


def test_serve_answers_over_http_from_a_milvus_index(corpus: Path, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.api_server import serve_api

    # an index of its own built by another process: milvus-lite lets one process open its file,
    # and its embedded server lives as long as the process that started it
    served = IndexDir(tmp_path / "served", MILVUS)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOWNSQUARE_BACKEND": "milvus"}
    done = subprocess.run([str(BIN / "townsquare"), "ingest", str(corpus), "--index", str(served.root)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    keys = {"mentor-key-0001": ["mentors"]}
    with serve_api(served.root, keys, tmp_path / "api.log") as url:
        anonymous = httpx.get(f"{url}/search", params={"q": "spare queens nuc", "k": 10}).json()
        assert all(h["thread_id"] != "p-1" for h in anonymous["hits"])
        mentor = httpx.get(f"{url}/search", params={"q": "spare queens nuc", "k": 1},
                           headers={"X-API-Key": "mentor-key-0001"}).json()
        assert mentor["hits"][0]["thread_id"] == "p-1"
        asked = httpx.post(f"{url}/ask", json={"question": "Which smoker fuel burns longest?"}, timeout=60).json()
        assert asked["citations"] and not asked["abstained"], json.dumps(asked)[:300]
        assert httpx.get(f"{url}/experts", params={"q": "smoker fuel"}).status_code == 200


def test_the_embedded_servers_unimplemented_call_tracebacks_stay_out_of_the_output(
    milvus_index: IndexDir, caplog: pytest.LogCaptureFixture
) -> None:
    # an ingest (the fixture) connected through the backend, which quiets these records for good
    server_log = logging.getLogger("grpc._server")
    with caplog.at_level(logging.ERROR):
        server_log.error("Exception calling application: Method not implemented!")
        server_log.error("Exception calling application: disk full")
    assert [r.getMessage() for r in caplog.records] == ["Exception calling application: disk full"]


def test_an_embedded_file_held_by_another_process_is_one_clean_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import fcntl

    from retrieval.backends.milvus_collection import connect
    from retrieval.backends.options import MilvusOptions
    from retrieval.errors import ConfigError

    (tmp_path / "milvus.db").mkdir()
    with (tmp_path / "milvus.db" / "LOCK").open("w") as held:  # what a running `serve` holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError, match="one process use it at a time"):
            connect(MilvusOptions(), tmp_path)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
