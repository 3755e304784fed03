"""The Slack export loader on the sample export and on the export's edge cases."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.discover import discover
from ingest.sources.base import Account, Report, SourceFile, ThreadPage
from ingest.sources.members_jsonl import MembersLoader
from ingest.sources.slack import SlackLoader
from ingest.sources.slack_text import Names, message_text, render
from ingest.validate import Loaded, collect
from retrieval.records import Thread
from tests.helpers import stored_posts

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).resolve().parent.parent / "corpus" / "sample"
EXPORT = SAMPLE / "exports" / "slack"
NOOR_FIRST = "slack:C01GENERAL:chat:1714207272.000200"
STORM = "slack:C01GENERAL:thread:1714670431.000400"


def load(path: Path, max_bytes: int = 50 * 1024 * 1024) -> tuple[Loaded, Report]:
    """The export at ``path`` through the loader and the cross-file checks, with the sample's members."""
    report = Report()
    members = MembersLoader().load(SourceFile(SAMPLE / "members.jsonl", "members.jsonl"), report)
    records: list[tuple[str, Any]] = [("members.jsonl", m) for m in members]
    records += [(path.name, r) for r in SlackLoader().load(SourceFile(path, path.name, max_bytes), report)]
    return collect(records, report, []), report


def threads(loaded: Loaded) -> dict[str, Thread]:
    return {t.id: t for t in loaded.threads}


def ts(when: str) -> str:
    return f"{datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp():.6f}"


def write_export(root: Path, days: dict[str, list[Any]], **lists: list[dict[str, Any]]) -> Path:
    """A small export: ``lists`` by file stem (channels, groups, users...), ``days`` by inner path."""
    root.mkdir(parents=True, exist_ok=True)
    lists.setdefault("users", [{"id": "U1", "name": "ada", "profile": {"display_name": "Ada L"}}])
    lists.setdefault("channels", [{"id": "C1", "name": "general"}])
    for stem, value in lists.items():
        (root / f"{stem}.json").write_text(json.dumps(value))
    for name, messages in days.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(messages))
    return root


def say(user: str, when: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": ts(when), **extra}


# --- the sample export ---------------------------------------------------------------------

def test_sample_export_threads_conversations_and_privacy() -> None:
    loaded, report = load(EXPORT)
    assert report.errors == [], [str(p) for p in report.problems]
    found = threads(loaded)
    assert len(found) == 11 and sum(len(t.posts) for t in found.values()) == 26
    storm = found[STORM]
    assert [p.author for p in storm.posts] == ["m03", "m07", "m05", "m10", "m03"]  # the last reply is two days later
    assert storm.url == "https://canopycollective.slack.com/archives/C01GENERAL/p1714670431000400"
    assert storm.title.startswith("@here gusts of 70 km/h") and storm.posts[0].score == 3
    assert all(p.reply_to == storm.posts[0].id for p in storm.posts[1:])
    assert "[file: storm-checklist.pdf]" in storm.posts[1].text and "@Priya N." in storm.posts[1].text
    assert "#swarm-watch" in storm.posts[3].text
    private = [t for t in found.values() if t.channel == "mentors-circle"]
    assert len(private) == 1 and private[0].visibility == ("slack:mentors-circle",)
    assert all(t.visibility == () for t in found.values() if t.channel != "mentors-circle")


def test_sample_export_leaves_out_housekeeping_and_keeps_old_format_posts() -> None:
    loaded, _ = load(EXPORT)
    texts = [p.text for t in loaded.threads for p in t.posts]
    assert not any("has joined" in t or "set the channel" in t or "pinned a message" in t for t in texts)
    bot = next(t for t in texts if t.startswith("Swarm risk today: HIGH"))
    assert "Wind: 4 km/h SW" in bot  # the words of a bot post live only in its attachment
    share = next(t for t in texts if "uploaded a file" in t)
    assert share.startswith("@Hana Sato uploaded a file: Swarm in the box (https://")  # legacy file_share
    welcome = threads(loaded)[NOOR_FIRST]
    assert [p.author for p in welcome.posts] == ["slack:U16NOOR", "m01", "m07"]
    assert "the first-week guide (https://wiki.canopy.example/guides/first-week)" in welcome.posts[0].text
    assert "Both are true & they don't" in welcome.posts[1].text and welcome.posts[1].score == 4


def test_sample_export_tombstoned_parent_leaves_its_replies_as_the_thread() -> None:
    loaded, _ = load(EXPORT)
    thread = threads(loaded)["slack:C01GENERAL:thread:1718092089.000100"]
    assert [p.author for p in thread.posts] == ["m12", "slack:U16NOOR"]
    assert "This message was deleted" not in thread.title and thread.posts[1].reply_to is None


def test_members_from_the_export_and_across_platforms() -> None:
    loaded, report = load(EXPORT)
    members = {m.id: m for m in loaded.members}
    assert members["slack:U16NOOR"].name == "Noor"  # not in members.jsonl: created from users.json
    assert members["slack:U16NOOR"].handles == {"slack": "U16NOOR"}
    assert "slack:U03PRIYA" not in members  # Priya is m03, through her slack handle
    assert "slack:B0FORAGE1" in members and report.warnings == []


def test_a_zip_of_the_export_reads_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "Canopy Collective Slack export Apr 2016 - Feb 2025.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(EXPORT.rglob("*.json")):
            z.write(path, f"Canopy Collective Slack export/{path.relative_to(EXPORT).as_posix()}")
    assert SlackLoader().matches(SourceFile(archive, archive.name))
    def bare(path: Path) -> list[Thread]:
        return [replace(t, origin="") for t in load(path)[0].threads]

    assert bare(archive) == bare(EXPORT)


def test_detection_claims_the_export_folder_and_nothing_else(tmp_path: Path) -> None:
    report = Report()
    found = discover([SAMPLE], report)
    slack = [s.rel for s, loader in found if loader.name == "slack"]
    assert slack == ["exports/slack"]
    assert not SlackLoader().matches(SourceFile(SAMPLE / "threads", "threads"))
    assert not SlackLoader().matches(SourceFile(tmp_path / "missing.zip", "missing.zip"))


# --- text -----------------------------------------------------------------------------------

def test_markup_becomes_readable_text() -> None:
    names = Names(users={"U1": "Ada L"}, channels={"C1": "general"})
    text = ("<@U1> and <@U9|bo> see <#C1|general>, <#C1>, <#G7|secret> <!here> <!channel|channel> "
            "<!subteam^S1|@mentors> <!date^1392734382^{date}|Feb 18> <https://x.example/a?b=1&amp;c=2|the guide> "
            "<https://y.example> <mailto:ada@example.org|ada@example.org> 3 &lt; 4 &amp;&amp; 5 &gt; 2 &amp;lt;")
    assert render(text, names) == (
        "@Ada L and @bo see #general, #general, #private-channel @here @channel @mentors Feb 18 "
        "the guide (https://x.example/a?b=1&c=2) https://y.example ada@example.org 3 < 4 && 5 > 2 &lt;"
    )


def test_blocks_attachments_and_files_supply_text_when_text_is_empty() -> None:
    names = Names(users={"U1": "Ada L"})
    message = {"text": "", "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "ask "}, {"type": "user", "user_id": "U1"},
        {"type": "link", "url": "https://z.example", "text": "here"}]}]}],
        "files": [{"name": "plan.pdf", "title": "Apiary plan"}]}
    assert message_text(message, names) == "ask @Ada Lhere (https://z.example)\n\n[file: Apiary plan]"
    assert message_text({"attachments": [{"fallback": "only <@U1>"}]}, names) == "only @Ada L"
    preview = {"from_url": "https://shop.example/smoker", "title": "Smoker - Shop", "text": "Buy now"}
    shared = {"is_msg_unfurl": True, "from_url": "https://w.slack.com/archives/C1/p1", "text": "queen seen"}
    assert message_text({"text": "this one", "attachments": [preview, shared]}, names) == "this one\n\nqueen seen"


# --- edge cases -------------------------------------------------------------------------------

def test_conversations_split_at_the_gap_and_run_across_midnight(tmp_path: Path) -> None:
    export = write_export(tmp_path / "x", {
        "general/2024-03-01.json": [say("U1", "2024-03-01T10:00:00", "a"), say("U1", "2024-03-01T10:29:00", "b"),
                                    say("U1", "2024-03-01T11:00:00", "c"), say("U1", "2024-03-01T23:50:00", "d")],
        "general/2024-03-02.json": [say("U1", "2024-03-02T00:10:00", "e")],
    })
    found = threads(load(export)[0])
    assert sorted(tuple(p.text for p in t.posts) for t in found.values()) == [("a", "b"), ("c",), ("d", "e")]


def test_privacy_fails_closed(tmp_path: Path) -> None:
    day = [say("U1", "2024-03-01T10:00:00", "hello")]
    export = write_export(
        tmp_path / "x", {f"{f}/2024-03-01.json": day for f in
                         ("general", "secret", "odd", "both", "unlisted", "D0AB", "mpdm-ada--bo-1", "team-only")},
        channels=[{"id": "C1", "name": "general"}, {"id": "C2", "name": "odd", "is_private": "yes"},
                  {"id": "C3", "name": "both"}, {"id": "C4", "name": "team-only", "is_private": True}],
        groups=[{"id": "G1", "name": "secret"}, {"id": "G2", "name": "both"}],
        mpims=[{"id": "G3", "name": "mpdm-ada--bo-1", "is_mpim": True}], dms=[{"id": "D0AB", "members": ["U1"]}],
    )
    loaded, report = load(export)
    seen = {t.channel: t.visibility for t in loaded.threads}
    assert seen == {"general": (), "secret": ("slack:secret",), "team-only": ("slack:team-only",),
                    "mpdm-ada--bo-1": ("slack:mpim:mpdm-ada--bo-1",), "dm:D0AB": ("slack:dm:D0AB",)}
    errors = " | ".join(str(p) for p in report.errors)
    assert "'odd': is_private is 'yes'" in errors and "'both' is listed as both public and private" in errors
    assert "x:unlisted/: not listed" in errors and "x:odd/: not listed" in errors


def test_private_channel_names_stay_out_of_public_text(tmp_path: Path) -> None:
    export = write_export(tmp_path / "x", {"general/2024-03-01.json": [say("U1", "2024-03-01T10:00:00", "see <#G1>")]},
                          groups=[{"id": "G1", "name": "plans-for-the-lease"}])
    assert load(export)[0].threads[0].posts[0].text == "see #private-channel"


def test_unknown_users_bots_and_bad_messages(tmp_path: Path) -> None:
    export = write_export(tmp_path / "x", {"general/2024-03-01.json": [
        say("U404", "2024-03-01T10:00:00", "who am I", user_profile={"real_name": "Gone Person"}),
        say("U1", "2024-03-01T10:01:00", "bad ts", ts="yesterday"),
        {"type": "message", "text": "no author", "ts": ts("2024-03-01T10:02:00")},
        {"type": "message", "subtype": "bot_message", "username": "hivebot", "text": "weight 41 kg",
         "ts": ts("2024-03-01T10:03:00")},
        {"type": "message", "subtype": "message_changed", "hidden": True, "ts": ts("2024-03-01T10:04:00")},
        "not an object",
    ]})
    loaded, report = load(export)
    assert [p.author for p in loaded.threads[0].posts] == ["slack:U404", "slack:hivebot"]
    assert {m.id: m.name for m in loaded.members}["slack:U404"] == "Gone Person"
    problems = [str(p) for p in report.problems]
    assert any("U404 is not in users.json" in p for p in problems)
    assert any(p.startswith("x:general/2024-03-01.json:yesterday: ts 'yesterday'") for p in problems)
    assert any("message without a user or bot" in p for p in problems)
    assert any("element 5 (and 0 more) is not an object" in p for p in problems)


def test_a_broken_day_file_costs_that_day_only(tmp_path: Path) -> None:
    export = write_export(tmp_path / "x", {"general/2024-03-02.json": [say("U1", "2024-03-02T10:00:00", "kept")]})
    (export / "general" / "2024-03-01.json").write_text('[{"type": "message", "text": "cut sh')
    loaded, report = load(export)
    assert [p.text for t in loaded.threads for p in t.posts] == ["kept"]
    assert [str(p).split(" (")[0] for p in report.errors] == ["x:general/2024-03-01.json: not readable as JSON"]


def test_day_files_over_the_size_limit_are_skipped(tmp_path: Path) -> None:
    export = write_export(tmp_path / "x", {"general/2024-03-01.json": [say("U1", "2024-03-01T10:00:00", "x" * 900)]})
    loaded, report = load(export, max_bytes=800)
    assert loaded.threads == [] and "over the" in str(report.errors[0])


def test_an_empty_export_and_a_corrupt_zip(tmp_path: Path) -> None:
    export = write_export(tmp_path / "empty", {}, users=[], channels=[])
    assert SlackLoader().matches(SourceFile(export, "empty"))
    loaded, report = load(export)
    assert loaded.threads == [] and [str(p) for p in report.problems] == ["empty: a Slack export with no messages"]
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert not SlackLoader().matches(SourceFile(broken, "broken.zip"))
    report = Report()
    assert list(SlackLoader().load(SourceFile(broken, "broken.zip"), report)) == []
    assert "not a readable Slack export" in str(report.errors[0])


def test_users_json_is_streamed_past_the_size_limit_and_kept_up_to_a_fault(tmp_path: Path) -> None:
    users = [{"id": f"U{i}", "name": f"user{i}", "profile": {"display_name": f"Bee keeper {i}"}} for i in range(40)]
    day = [say("U1", "2024-03-01T10:00:00", "first"), say("U39", "2024-03-01T10:01:00", "last")]
    export = write_export(tmp_path / "x", {"general/2024-03-01.json": day}, users=users)
    loaded, report = load(export, max_bytes=1000)  # users.json is larger; the day file is not
    assert {m.name for m in loaded.members} >= {"Bee keeper 1", "Bee keeper 39"} and report.problems == []
    text = (export / "users.json").read_text()
    (export / "users.json").write_text(text[: text.index('"U20"')])
    loaded, report = load(export)
    assert {m.id: m.name for m in loaded.members}["slack:U1"] == "Bee keeper 1"
    assert "not readable as JSON after 20 users" in str(report.errors[0])
    assert any("U39 is not in users.json" in str(p) for p in report.warnings)


def test_slack_forced_on_something_else_is_one_clean_error(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# hi")
    for path in (folder, folder / "a.md"):
        report = Report()
        assert list(SlackLoader().load(SourceFile(path, path.name), report)) == []
        assert len(report.errors) == 1 and "not a" in str(report.errors[0])


# --- mangled input never escapes as an exception -----------------------------------------------

SAMPLE_FILES = sorted(p.relative_to(EXPORT).as_posix() for p in EXPORT.rglob("*.json"))


OTHER = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _mangle_json(value: Any, data: st.DataObject) -> Any:
    """Delete one nested field of ``value``, swap it with a sibling, or give it a value of another type."""
    if isinstance(value, list) and value:
        i = data.draw(st.integers(0, len(value) - 1))
        value[i] = _mangle_json(value[i], data)
    elif isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(sorted(value)))
        action = data.draw(st.sampled_from(["delete", "replace", "descend", "swap"]))
        if action == "delete":
            del value[key]
        elif action == "swap":
            other = data.draw(st.sampled_from(sorted(value)))
            value[key], value[other] = value[other], value[key]
        elif action == "descend" and isinstance(value[key], list | dict):
            value[key] = _mangle_json(value[key], data)
        else:
            value[key] = data.draw(OTHER)
    else:
        value = data.draw(OTHER)
    return value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mangled_exports_are_reported_never_raised(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    export = tmp_path_factory.mktemp("mangled") / "slack"
    shutil.copytree(EXPORT, export)
    for name in data.draw(st.lists(st.sampled_from(SAMPLE_FILES), min_size=1, max_size=3, unique=True)):
        path = export / name
        raw = path.read_bytes()
        how = data.draw(st.sampled_from(["truncate", "bytes", "json", "delete"]))
        if how == "truncate":
            path.write_bytes(raw[: data.draw(st.integers(0, len(raw)))])
        elif how == "bytes":
            path.write_bytes(data.draw(st.binary(max_size=64)))
        elif how == "json":
            path.write_text(json.dumps(_mangle_json(json.loads(raw), data)))
        else:
            path.unlink()
    report = Report()
    records = list(SlackLoader().load(SourceFile(export, "slack"), report))
    collect([("slack", r) for r in records], report, [])
    pages = [r.thread for r in records if isinstance(r, ThreadPage)]
    assert all(p.posts and p.posts[0].text for p in pages)
    assert all(isinstance(r, ThreadPage | Account) for r in records)
    assert all(p.visibility in ((), ("slack:mentors-circle",)) for p in pages)
    assert all(p.channel != "mentors-circle" or p.visibility for p in pages)  # never public


# --- through the pipeline, with the real model ------------------------------------------------

@pytest.mark.integration
def test_ingest_the_export_then_only_new_messages(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from ingest.pipeline import ingest
    from retrieval.index import IndexDir
    from retrieval.library import Library

    source = tmp_path / "src"
    shutil.copytree(EXPORT, source / "slack")
    shutil.copy(SAMPLE / "members.jsonl", source / "members.jsonl")
    index_dir = IndexDir(tmp_path / "ix")
    first = ingest([source], index_dir, embedder)
    assert first.errors == 0 and first.documents_new == 11, [str(p) for p in first.problems]
    snapshot = index_dir.open()
    assert snapshot.manifest.counts["threads"] == 11
    posts = stored_posts(snapshot, ("slack:mentors-circle",))
    authors = {p.author for p in posts if p.doc_id.startswith("slack:")}
    assert {"m03", "m01", "m07", "slack:U16NOOR", "slack:B0FORAGE1"} <= authors
    snapshot.close()
    searcher = Library(index_dir, embedder).searcher()
    question = "who will mentor Noor on Saturday mornings"
    assert all(h.channel != "mentors-circle" for h in searcher.search(question, k=20, groups=("mentors",)))
    assert searcher.search(question, k=1, groups=("slack:mentors-circle",))[0].channel == "mentors-circle"

    assert ingest([source], index_dir, embedder).chunks_embedded == 0
    day = source / "slack" / "general" / "2024-06-11.json"
    messages = json.loads(day.read_text())
    messages.append(say("U10CHEN", "2024-06-11T15:52:00", "Booked the extractor for the 20th and 21st, thanks Hana."))
    day.write_text(json.dumps(messages))
    again = ingest([source], index_dir, embedder)
    assert (again.documents_changed, again.documents_new, again.chunks_embedded) == (1, 0, 1)
