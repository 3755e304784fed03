"""The loader framework: trees (folder or zip), detection, ``--format``, thread pages and
accounts resolved to members across sources."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.discover import discover
from ingest.members import MemberResolver
from ingest.sources import LOADERS, UnknownFormatError, get_loader
from ingest.sources.base import Account, Report, ThreadPage
from ingest.sources.tree import open_tree
from ingest.validate import collect
from retrieval.records import Member, Post, Thread
from tests.helpers import write_small_corpus

pytestmark = pytest.mark.unit


def _post(pid: str, author: str, day: int, thread: str = "t1") -> Post:
    return Post(id=pid, thread_id=thread, author=author, created_at=datetime(2025, 5, day, tzinfo=UTC), text=pid)


def test_a_zip_with_one_top_folder_reads_like_the_unpacked_folder(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "general").mkdir(parents=True)
    (folder / "users.json").write_text("[]")
    (folder / "general" / "2025-05-01.json").write_text("[]")
    (folder / ".DS_Store").write_text("x")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in folder.rglob("*"):
            z.write(path, path.relative_to(tmp_path).as_posix())
        z.writestr("__MACOSX/export/._users.json", "junk")
    with open_tree(folder, "export") as unpacked, open_tree(archive, "export.zip") as zipped:
        assert unpacked.names() == zipped.names() == ["general/2025-05-01.json", "users.json"]
        with zipped.open("users.json") as f:
            assert f.read() == b"[]"


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(UnknownFormatError) as raised:
        get_loader("myspace")
    assert all(name in str(raised.value) for name in LOADERS)


def test_forced_format_reads_every_file_of_a_folder_with_that_loader(tmp_path: Path) -> None:
    corpus = write_small_corpus(tmp_path / "src")
    report = Report()
    found = discover([corpus], report, forced=get_loader("text"))
    assert {source.rel for source, _ in found} == {"members.jsonl", "threads.jsonl", "guide.md"}
    assert {loader.name for _, loader in found} == {"text"}


def test_a_missing_path_is_an_error_and_detection_skips_unknown_types(tmp_path: Path) -> None:
    corpus = write_small_corpus(tmp_path / "src")
    (corpus / "photo.jpeg").write_bytes(b"\xff\xd8")
    report = Report()
    found = discover([corpus, tmp_path / "gone"], report)
    assert sorted(s.rel for s, _ in found) == ["guide.md", "members.jsonl", "threads.jsonl"]
    assert [str(p) for p in report.problems] == [
        "photo.jpeg: skipped: unknown file type .jpeg", f"{tmp_path / 'gone'}: no such file or folder"
    ]


def test_pages_of_one_thread_merge_and_each_post_is_kept_once() -> None:
    first = (_post("p1", "a", 1), _post("p2", "b", 2))
    page1 = Thread(id="t1", source="x", channel="c", title="Swarm traps", posts=first)
    page2 = Thread(id="t1", source="x", channel="c", title="", posts=(_post("p2", "b", 2), _post("p3", "a", 3)))
    loaded = collect([("b.json", ThreadPage(page2)), ("a.json", ThreadPage(page1))], Report(), [])
    (thread,) = loaded.threads
    assert [p.id for p in thread.posts] == ["p1", "p2", "p3"] and thread.title == "Swarm traps"


def test_pages_that_disagree_on_visibility_are_skipped_not_published() -> None:
    public = Thread(id="t1", source="x", channel="c", title="T", posts=(_post("p1", "a", 1),))
    private = Thread(id="t1", source="x", channel="c", title="T", posts=(_post("p2", "a", 2),), visibility=("mentors",))
    report = Report()
    loaded = collect([("a", ThreadPage(public)), ("b", ThreadPage(private))], report, [])
    assert loaded.threads == [] and "disagree on visibility" in str(report.errors[0])


def test_accounts_on_three_platforms_resolve_to_one_declared_member() -> None:
    ines = Member(id="m04", name="Ines", handles={"slack": "U04", "discourse": "Ines_A", "mail": "ines@example.org"})
    accounts = [
        Account("slack", ("U04", "ines"), "ines"), Account("discourse", ("ines_a",), "Ines A."),
        Account("mail", ("INES@example.org",), "Ines"), Account("slack", ("U99",), "Newcomer"),
    ]
    thread = Thread(id="t1", source="slack", channel="c", title="T", posts=(
        _post("p1", "slack:U04", 1), _post("p2", "discourse:ines_a", 2), _post("p3", "mail:INES@example.org", 3),
        _post("p4", "slack:U99", 4),
    ))
    records: list = [("members.jsonl", ines), *(("x", a) for a in accounts), ("x", thread)]
    report = Report()
    loaded = collect(records, report, [])
    assert [p.author for p in loaded.threads[0].posts] == ["m04", "m04", "m04", "slack:U99"]
    assert {m.id: m.name for m in loaded.members} == {"m04": "Ines", "slack:U99": "Newcomer"}
    assert report.problems == []


def test_handles_declared_by_an_already_indexed_member_still_claim_accounts() -> None:
    indexed = [Member(id="m07", name="Theo", handles={"discord": "2091"})]
    resolver = MemberResolver(indexed)
    assert resolver.owner(Account("discord", ("2091", "theo"), "theo")) == "m07"
    assert resolver.owner(Account("slack", ("2091",), "theo")) is None
