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
