"""A damaged export never replaces what is indexed (:mod:`ingest.held`): re-ingesting a cut
Stack Exchange ``Posts.xml`` or a cut Discord export keeps the indexed threads whole, while new
documents from the readable part are still added."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ingest.held import damaged_documents, held_back, is_damaged
from ingest.pipeline import ingest
from ingest.sources.base import Report
from retrieval.content import get_thread
from retrieval.embedding import Embedder
from retrieval.index import IndexDir

SAMPLE = Path(__file__).resolve().parent.parent / "corpus" / "sample"
DUMP = SAMPLE / "exports" / "stackexchange"
SITE = "stackexchange:ask.canopy.example"
DISCORD_THREAD = "Canopy Collective - swarm-watch - Trap placement on Holm Street [1370843018323689486].json"


def served_post_ids(index_dir: IndexDir, embedder: Embedder, thread_id: str) -> list[str]:
    """The post ids of ``thread_id`` as the served snapshot gives them to a reader."""
    snapshot = index_dir.open(embedder.model_id)
    try:
        return [p["id"] for p in get_thread(snapshot.catalog, thread_id, ())["posts"]]
    finally:
        snapshot.close()


def without_question_4(posts_xml: str) -> str:
    """The dump's Posts.xml without question 4 and its answers (rows 4, 5 and 6)."""
    return re.sub(r'  <row Id="[456]" [^\n]*\n', "", posts_xml)


@pytest.mark.unit
def test_a_source_is_damaged_by_errors_at_it_or_inside_it() -> None:
    report = Report()
    report.error("site.example:Posts.xml:145", "not well-formed XML")
    report.error("slack/general/2024-06-11.json", "not readable as JSON")
    failed = report.files_with_errors()
    assert is_damaged("site.example", failed) and is_damaged("slack", failed)
    assert not is_damaged("site", failed) and not is_damaged("slack-old", failed)
    damaged = damaged_documents({"q1": {"site.example"}, "t1": {"other.jsonl"}, "t2": {"other.jsonl", "slack"}}, failed)
    assert damaged == {"q1": "site.example", "t2": "slack"}
    # stored q1 is held; new t3 is added; new t4 would take a stored thread's post: held
    damaged.update(t3="slack", t4="slack")
    assert held_back(["q1", "t1", "t3", "t4"], {"q1", "t1", "old"}, {"old": "t4"}, damaged) == {"q1", "t4"}


@pytest.mark.integration
def test_a_cut_posts_xml_keeps_indexed_threads_whole_and_adds_new_ones(tmp_path: Path, embedder: Embedder) -> None:
    dump = tmp_path / "src" / "ask.canopy.example"
    shutil.copytree(DUMP, dump)
    full = (dump / "Posts.xml").read_text(encoding="utf-8-sig")
    (dump / "Posts.xml").write_text(without_question_4(full), encoding="utf-8")
    index_dir = IndexDir(tmp_path / "index")
    first = ingest([tmp_path / "src"], index_dir, embedder)
    assert first.errors == 0 and first.documents_new == 5
    before = served_post_ids(index_dir, embedder, f"{SITE}:q7")
    assert f"{SITE}:p11" in before  # q7's second answer comes after question 9 in the file

    cut = full[: full.index('<row Id="11"') + 40]  # mid-row, as a copy that stopped short leaves it
    (dump / "Posts.xml").write_text(cut, encoding="utf-8")
    again = ingest([tmp_path / "src"], index_dir, embedder)

    line = cut.count("\n") + 1
    assert [str(p) for p in again.problems if p.level == "error"] == [
        f"ask.canopy.example:Posts.xml:{line}: not well-formed XML (unclosed token); the 10 rows before it are kept"]
    kept = [str(p) for p in again.problems if "indexed version is kept" in p.message]
    assert kept == ["ask.canopy.example: had errors, so its version of 1 indexed document(s) was not used; "
                    f"the indexed version is kept: {SITE}:q7"]
    assert (again.documents_new, again.documents_changed, again.documents_kept) == (1, 0, 1)
    assert served_post_ids(index_dir, embedder, f"{SITE}:q7") == before
    assert {f"{SITE}:p4", f"{SITE}:p5", f"{SITE}:p6"} <= set(served_post_ids(index_dir, embedder, f"{SITE}:q4"))


@pytest.mark.integration
def test_a_cut_discord_export_keeps_the_indexed_thread(tmp_path: Path, embedder: Embedder) -> None:
    corpus = tmp_path / "src"
    (corpus / "discord").mkdir(parents=True)
    shutil.copy(SAMPLE / "members.jsonl", corpus / "members.jsonl")
    export = corpus / "discord" / DISCORD_THREAD
    shutil.copy(SAMPLE / "exports" / "discord" / DISCORD_THREAD, export)
    index_dir = IndexDir(tmp_path / "index")
    first = ingest([corpus], index_dir, embedder)
    assert first.errors == 0 and first.documents_new == 1
    snapshot = index_dir.open(embedder.model_id)
    thread_id = next(iter(snapshot.catalog.document_hashes()))
    snapshot.close()
    before = served_post_ids(index_dir, embedder, thread_id)

    data = json.loads(export.read_text(encoding="utf-8"))
    text = json.dumps(data, indent=2)
    export.write_text(text[: text.index(data["messages"][-1]["id"]) - 20], encoding="utf-8")
    again = ingest([corpus], index_dir, embedder)

    errors = [str(p) for p in again.problems if p.level == "error"]
    assert len(errors) == 1 and errors[0].startswith(f"discord/{DISCORD_THREAD}: invalid JSON after ")
    assert any(thread_id in p.message and p.where == f"discord/{DISCORD_THREAD}" for p in again.problems)
    assert (again.documents_changed, again.documents_kept) == (0, 1)
    assert served_post_ids(index_dir, embedder, thread_id) == before


def _thread(thread_id: str, *authors: str) -> str:
    posts = [{"id": f"{thread_id}-p{n}", "author": author, "created_at": f"2025-05-0{n + 1}T10:00:00Z",
              "text": f"Post {n} of {thread_id}: smoke the hive gently and check the brood frames."}
             for n, author in enumerate(authors)]
    return json.dumps({"id": thread_id, "title": f"Thread {thread_id}", "channel": "general", "visibility": "public",
                       "posts": posts}) + "\n"


def _member(member_id: str, name: str) -> str:
    return json.dumps({"id": member_id, "name": name}) + "\n"


@pytest.mark.integration
def test_a_damaged_file_writes_no_member_only_it_gave(tmp_path: Path, embedder: Embedder) -> None:
    src, index_dir = tmp_path / "src", IndexDir(tmp_path / "index")
    (src / "threads").mkdir(parents=True)
    (src / "members.jsonl").write_text(_member("m01", "Ines Albright"))
    (src / "threads" / "a.jsonl").write_text(_thread("t1", "m01", "m02"))  # m02: an author nobody listed
    assert ingest([src], index_dir, embedder).errors == 0
    # the members file is cut mid-record: its new member and its renaming of m01 are not used;
    # a damaged threads file still adds its new thread, with the new author that thread needs
    (src / "members.jsonl").write_text(_member("m01", "Ines Garbled") + _member("m99", "Zed Only-Here") + '{"id": "m9')
    (src / "threads" / "b.jsonl").write_text(_thread("t2", "m03") + _thread("t3", "m04")[:-40] + "\n")
    summary = ingest([src], index_dir, embedder)
    assert summary.errors == 2 and summary.documents_new == 1
    snapshot = index_dir.open(embedder.model_id)
    try:
        members = {m.id: m.name for m in snapshot.catalog.members().values()}
    finally:
        snapshot.close()
    assert members == {"m01": "Ines Albright", "m02": "m02", "m03": "m03"}
    warning = next(p for p in summary.problems if p.where == "members.jsonl" and p.level == "warning")
    assert "2 member record(s)" in warning.message and "m01, m99" in warning.message
    assert not any("m03" in p.message and "not written" in p.message for p in summary.problems)
