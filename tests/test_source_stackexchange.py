"""The Stack Exchange dump loader on the sample dump, on the real Cardano dump (when
../shared is present), on the forms real dumps take, and on mangled input."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import py7zr
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.discover import discover
from ingest.pipeline import ingest
from ingest.sources.base import Account, Record, Report, SourceFile
from ingest.sources.stackexchange import StackExchangeLoader
from ingest.sources.stackexchange_site import parse_tags, site_from_name, vote_site
from ingest.validate import collect
from retrieval.embedding import Embedder
from retrieval.index import IndexDir
from retrieval.records import Member, Thread
from tests.helpers import stored_posts

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "corpus" / "sample" / "exports" / "stackexchange"
MEMBERS = ROOT / "corpus" / "sample" / "members.jsonl"
CARDANO = ROOT.parent / "shared" / "data" / "stackexchange-cardano"
SITE = "stackexchange:ask.canopy.example"
LOADER = StackExchangeLoader()


def load(path: Path, name: str | None = None) -> tuple[list[Record], Report]:
    report = Report()
    return list(LOADER.load(SourceFile(path, name or path.name), report)), report


def threads_of(records: list[Record]) -> dict[str, Thread]:
    return {r.id: r for r in records if isinstance(r, Thread)}


def copy_dump(tmp_path: Path, name: str = "dump") -> Path:
    target = tmp_path / name
    shutil.copytree(DUMP, target)
    return target


def declared_members() -> list[Member]:
    lines = MEMBERS.read_text().splitlines()
    return [Member(**{k: v for k, v in json.loads(line).items()}) for line in lines if line.strip()]


@pytest.mark.unit
def test_questions_become_threads_with_answers_comments_and_accepted_flags() -> None:
    records, report = load(DUMP)
    threads = threads_of(records)
    assert sorted(threads) == [f"{SITE}:q{n}" for n in (1, 12, 15, 4, 7, 9)]  # tag wiki 13/14 left out
    assert report.errors == []
    bearding = threads[f"{SITE}:q1"]
    assert bearding.url == "https://ask.canopy.example/q/1" and bearding.tags == ("bearding", "ventilation", "summer")
    assert [p.id.rsplit(":", 1)[1] for p in bearding.posts] == ["p1", "c1", "c2", "p2", "c4", "p3"]
    by_id = {p.id.rsplit(":", 1)[1]: p for p in bearding.posts}
    assert by_id["p2"].accepted and not by_id["p3"].accepted and by_id["p2"].score == 11
    assert by_id["p2"].reply_to == f"{SITE}:p1" and by_id["c4"].reply_to == f"{SITE}:p2"
    assert "cooling itself" in by_id["p2"].text and "<p>" not in by_id["p2"].text
    short = lambda full: full.rsplit(":", 1)[1]  # noqa: E731
    accepted = {short(t.id): [short(p.id) for p in t.posts if p.accepted] for t in threads.values()}
    assert accepted == {"q1": ["p2"], "q4": [], "q7": ["p8"], "q9": ["p10"], "q12": [], "q15": []}


@pytest.mark.unit
def test_duplicate_and_linked_questions_point_at_their_targets() -> None:
    threads = threads_of(load(DUMP)[0])
    assert f"duplicate-of:{SITE}:q1" in threads[f"{SITE}:q12"].tags
    assert f"linked:{SITE}:q7" in threads[f"{SITE}:q9"].tags


@pytest.mark.unit
def test_owners_resolve_to_members_and_deleted_users_keep_a_name() -> None:
    records, _ = load(DUMP)
    loaded = collect([("members.jsonl", m) for m in declared_members()] + [("dump", r) for r in records], Report(), [])
    authors = {p.id.rsplit(":", 1)[1]: p.author for t in loaded.threads for p in t.posts}
    assert authors["p2"] == "m02" and authors["p1"] == "m06" and authors["c1"] == "m05"  # site and network handles
    assert authors["p6"] == authors["p12"] == "stackexchange:ask.canopy.example/name/user7"
    assert authors["c6"] == "stackexchange:ask.canopy.example/deleted"
    names = {m.id: m.name for m in loaded.members}
    assert names["stackexchange:ask.canopy.example/users/6"] == "Nadia Quill"  # not in members.jsonl
    assert names["stackexchange:ask.canopy.example/deleted"] == "deleted user"


@pytest.mark.unit
def test_a_zip_named_after_the_site_reads_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "ask.canopy.example.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in DUMP.iterdir():
            z.write(path, f"ask.canopy.example/{path.name}")
    report = Report()
    found = discover([tmp_path], report)
    assert [(s.rel, loader.name) for s, loader in found] == [("ask.canopy.example.zip", "stackexchange")]
    assert sorted(threads_of(load(archive)[0])) == sorted(threads_of(load(DUMP)[0]))


@pytest.mark.unit
def test_the_internet_archive_7z_form_reads_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "ask.canopy.example.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        for path in DUMP.iterdir():
            z.write(path, path.name)
    report = Report()
    found = discover([tmp_path], report)
    assert [(s.rel, loader.name) for s, loader in found] == [("ask.canopy.example.7z", "stackexchange-7z")]
    source, loader = found[0]
    threads = threads_of(list(loader.load(source, report)))
    assert sorted(threads) == sorted(threads_of(load(DUMP)[0])) and report.errors == []
    (tmp_path / "cut.7z").write_bytes(archive.read_bytes()[:200])
    records = list(loader.load(SourceFile(tmp_path / "cut.7z", "cut.7z"), report))
    assert records == [] and str(report.errors[0]).startswith("cut.7z: not a readable 7z archive")


@pytest.mark.unit
def test_a_dump_without_users_still_loads_with_site_user_names(tmp_path: Path) -> None:
    dump = copy_dump(tmp_path)
    (dump / "Users.xml").unlink()
    records, report = load(dump)
    assert len(threads_of(records)) == 6 and report.errors == []
    names = {r.member_id: r.name for r in records if isinstance(r, Account)}
    assert names["stackexchange:ask.canopy.example/users/6"] == "user6"
    assert any("Users.xml" in str(p) for p in report.warnings)


@pytest.mark.unit
def test_newer_dump_forms_load_doctype_no_bom_and_pipe_tags(tmp_path: Path) -> None:
    dump = copy_dump(tmp_path)
    posts = (dump / "Posts.xml").read_bytes().removeprefix(b"\xef\xbb\xbf").decode()
    posts = posts.replace("&lt;bearding&gt;&lt;ventilation&gt;&lt;summer&gt;", "|bearding|ventilation|summer|")
    posts = posts.replace("?>", '?>\r\n<!DOCTYPE posts SYSTEM "https://example.invalid/posts.dtd">', 1)
    (dump / "Posts.xml").write_text(posts)
    records, report = load(dump)
    assert threads_of(records)[f"{SITE}:q1"].tags == ("bearding", "ventilation", "summer") and report.errors == []


@pytest.mark.unit
def test_entities_are_refused_and_a_truncated_file_keeps_the_rows_before_the_fault(tmp_path: Path) -> None:
    dump = copy_dump(tmp_path)
    comments = (dump / "Comments.xml").read_text(encoding="utf-8-sig")
    (dump / "Comments.xml").write_text(comments.replace("?>", '?><!DOCTYPE c [<!ENTITY a "aaaa">]>', 1))
    posts = (dump / "Posts.xml").read_bytes()
    (dump / "Posts.xml").write_bytes(posts[: posts.index(b'<row Id="9"') + 40])
    records, report = load(dump)
    # the links that named the site were cut off too: ids would fall back to the folder's name and
    # the indexed questions would come back as new threads, so nothing of this dump is ingested
    assert records == []
    problems = [str(p) for p in report.errors]
    assert any(p.startswith("dump:Comments.xml: refused") for p in problems)
    assert any(p.startswith("dump:Posts.xml:11: not well-formed XML") for p in problems)
    assert any(p.startswith("dump: the site is unknown and the dump is damaged") for p in problems)
    named = dump.rename(tmp_path / "ask.canopy.example")  # named after its site: the rows before the fault stay
    records, report = load(named)
    assert sorted(threads_of(records)) == [f"{SITE}:q1", f"{SITE}:q4", f"{SITE}:q7"]


@pytest.mark.unit
def test_the_site_comes_from_the_name_or_from_links_matching_titles() -> None:
    assert site_from_name("cardano.stackexchange.com.7z") == "cardano.stackexchange.com"
    assert site_from_name("stackoverflow.com-Posts") == "stackoverflow.com"
    assert site_from_name("dump") == site_from_name("stackexchange-cardano") == ""
    links = [("stackoverflow.com", "how-to-sort-a-list", "Why do bees beard?"),
             ("bees.example", "why-do-bees-beard", "Why do bees beard?")]
    assert vote_site(links) == "bees.example" and vote_site(links[:1]) == ""
    assert parse_tags("<a><b-c>") == parse_tags("|a|b-c|") == ("a", "b-c")


@pytest.mark.unit
def test_other_folders_and_broken_zips_are_not_claimed(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "Posts.xml").write_text("<html>not a dump</html>")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 truncated")
    assert not LOADER.matches(SourceFile(tmp_path / "notes", "notes"))
    assert not LOADER.matches(SourceFile(tmp_path / "broken.zip", "broken.zip"))
    records, report = load(tmp_path / "broken.zip")
    assert records == [] and "broken.zip: not a readable folder or zip archive" in str(report.errors[0])


@pytest.mark.unit
def test_odd_values_are_tolerated_and_orphans_reported(tmp_path: Path) -> None:
    dump = copy_dump(tmp_path)
    odd = ('  <row Id="99999999999999999999" PostTypeId="1" Title="Too big" Body="" />\r\n'
           '  <row Id="70" PostTypeId="1" Score="many" CreationDate="yesterday" Title="Odd" Body="&lt;b&gt;x" />\r\n'
           '  <row Id="71" PostTypeId="2" ParentId="5000" Body="&lt;p&gt;lost&lt;/p&gt;" />\r\n</posts>')
    posts = (dump / "Posts.xml").read_text(encoding="utf-8-sig").replace("</posts>", odd)
    (dump / "Posts.xml").write_text(posts)
    records, report = load(dump)
    odd_thread = threads_of(records)[f"{SITE}:q70"]
    assert odd_thread.posts[0].score == 0 and odd_thread.posts[0].created_at is None and odd_thread.posts[0].text == "x"
    warnings = [str(p) for p in report.warnings]
    assert "dump:Posts.xml: 1 rows without a numeric id were skipped" in warnings
    assert any(w.startswith("dump:Posts.xml: 1 answers left out") and "71" in w for w in warnings)


def _mangle(data: bytes, how: str, at: float, junk: bytes) -> bytes:
    cut = int(len(data) * at)
    if how == "truncate":
        return data[:cut]
    if how == "insert":
        return data[:cut] + junk + data[cut:]
    if how == "swap":  # attribute values moved to other attributes (wrong types, wrong ids)
        return data.replace(b'Id="', b'Xd="', 3).replace(b'Score="', b'Id="', 2).replace(b'ParentId="', b'Score="', 2)
    return junk


@pytest.mark.unit
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["Posts.xml", "Comments.xml", "Users.xml", "PostLinks.xml"]),
    how=st.sampled_from(["truncate", "insert", "swap", "replace"]),
    at=st.floats(0, 1),
    junk=st.binary(max_size=64) | st.sampled_from([
        b'<row Id="x" PostTypeId="1" />', b"\xff\xfe", b"&bogus;", b'<row Id="99999999999999999999" PostTypeId="1" />',
        b'<row Id="70" PostTypeId="2" ParentId="1" Score="many" CreationDate="yesterday" />']),
)
def test_mangled_dumps_give_a_clean_report_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory, name: str, how: str, at: float, junk: bytes
) -> None:
    dump = copy_dump(tmp_path_factory.mktemp("mangled"))
    (dump / name).write_bytes(_mangle((dump / name).read_bytes(), how, at, junk))
    records, report = load(dump)
    for thread in threads_of(records).values():
        assert thread.title and thread.posts and thread.id.startswith("stackexchange:")
    assert all(p.where.startswith("dump") for p in report.problems)


@pytest.mark.unit
@pytest.mark.skipif(not (CARDANO / "dump").is_dir(), reason="../shared/data/stackexchange-cardano is absent")
def test_the_cardano_dump_loads_as_it_is() -> None:
    records, report = load(CARDANO / "dump")
    threads = threads_of(records)
    loaded = collect([("dump", r) for r in records], Report(), [])
    assert len(loaded.threads) == 1042 and sum(len(t.posts) for t in loaded.threads) >= 2538
    assert report.errors == []
    expected = [json.loads(line) for line in (CARDANO / "threads.jsonl").read_text().splitlines()]
    site = "stackexchange:cardano.stackexchange.com"
    for item in expected:
        thread = threads[f"{site}:q{item['thread_id']}"]
        accepted = [p.id for p in thread.posts if p.accepted]
        assert accepted == ([f"{site}:p{item['accepted_answer_id']}"] if item.get("accepted_answer_id") else [])
        authors = {p.id: p.author for p in thread.posts}
        for post in [{"id": item["thread_id"], **item["question"]}, *item["answers"]]:
            handle = str(post["author"]).replace("name:", "/name/", 1) if str(post["author"]).startswith("name:") \
                else f"/users/{post['author']}"
            assert authors[f"{site}:p{post['id']}"] == f"{site}{handle}"


@pytest.mark.integration
def test_ingesting_the_sample_dump_embeds_only_what_changed(tmp_path: Path, embedder: Embedder) -> None:
    dump = copy_dump(tmp_path / "src", "ask.canopy.example")
    shutil.copy(MEMBERS, tmp_path / "src" / "members.jsonl")
    index_dir = IndexDir(tmp_path / "index")
    first = ingest([tmp_path / "src"], index_dir, embedder)
    assert first.documents_new == 6 and first.errors == 0
    snapshot = index_dir.open(embedder.model_id)
    try:
        posts = stored_posts(snapshot)
        assert len(posts) == 22
        assert sorted((p.id, p.author) for p in posts if p.accepted) == [
            (f"{SITE}:p10", "m06"), (f"{SITE}:p2", "m02"), (f"{SITE}:p8", "m02")]
    finally:
        snapshot.close()
    assert ingest([tmp_path / "src"], index_dir, embedder).chunks_embedded == 0
    comments = (dump / "Comments.xml").read_text(encoding="utf-8-sig")
    new = '  <row Id="10" PostId="15" Score="0" Text="Ours sat at 33 kg in March and came through fine." ' \
          'CreationDate="2025-02-11T09:12:40.117" UserId="6" ContentLicense="CC BY-SA 4.0" />\r\n</comments>'
    (dump / "Comments.xml").write_text(comments.replace("</comments>", new))
    again = ingest([tmp_path / "src"], index_dir, embedder)
    assert again.documents_changed == 1 and 1 <= again.chunks_embedded <= 2


@pytest.mark.integration
def test_comments_are_labelled_comments_in_hits_and_expert_evidence(tmp_path: Path, embedder: Embedder) -> None:
    from retrieval.experts import role_of
    from retrieval.library import Library

    copy_dump(tmp_path / "src", "ask.canopy.example")
    index_dir = IndexDir(tmp_path / "index")
    assert ingest([tmp_path / "src"], index_dir, embedder).errors == 0
    hits = Library(index_dir, embedder).searcher().search("shade cloth over a roof hive made the beard smaller", k=30)
    top = hits[0]
    assert top.post_id == f"{SITE}:c4" and top.role == "comment" and role_of(top) == "comment"
    every = [*hits, *(more for h in hits for more in h.more)]
    labels = {(h.post_id.rsplit(":", 1)[1][0], h.role) for h in every if h.post_id}
    assert {("c", "comment"), ("p", "accepted answer"), ("p", "answer"), ("p", "question")} <= labels
    assert all(role == "comment" for kind, role in labels if kind == "c")
    assert all(role != "comment" for kind, role in labels if kind == "p")
