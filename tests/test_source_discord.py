"""The DiscordChatExporter loader on the sample export, on edge cases and on mangled files."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.discover import discover
from ingest.pipeline import ingest
from ingest.sources.base import Report, SourceFile
from ingest.sources.discord import DiscordLoader
from ingest.sources.discord_conversations import Grouper
from ingest.sources.discord_messages import Message, author_account, parse_message, render_text
from ingest.sources.members_jsonl import MembersLoader
from ingest.validate import Loaded, collect
from retrieval.index import IndexDir
from retrieval.records import Thread
from tests.helpers import stored_posts

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).resolve().parent.parent / "corpus" / "sample"
EXPORT = SAMPLE / "exports" / "discord"
CHANNEL = "Canopy Collective - Talk - swarm-watch [1090000000000000101].json"
LATER = "Canopy Collective - Talk - swarm-watch [1090000000000000101] (after 2025-05-04).json"
THREAD = "Canopy Collective - swarm-watch - Trap placement on Holm Street [1370843018323689486].json"
LOADER = DiscordLoader()


def load_folder(folder: Path) -> tuple[Loaded, Report]:
    """Every export in ``folder`` through the loader and the cross-file checks, with the sample's members."""
    report = Report()
    members = SourceFile(SAMPLE / "members.jsonl", "members.jsonl")
    records: list[tuple[str, Any]] = [("members.jsonl", m) for m in MembersLoader().load(members, report)]
    for path in sorted(folder.glob("*.json")):
        records += [(path.name, r) for r in LOADER.load(SourceFile(path, path.name), report)]
    return collect(records, report, []), report


def by_id(loaded: Loaded) -> dict[str, Thread]:
    return {t.id: t for t in loaded.threads}


def export(messages: list[dict[str, Any]], channel_type: str = "GuildTextChat", channel_id: str = "500",
           parent: str = "Talk", name: str = "general") -> dict[str, Any]:
    """A current-schema export of ``messages``."""
    return {"guild": {"id": "9", "name": "G"},
            "channel": {"id": channel_id, "type": channel_type, "category": parent, "name": name},
            "dateRange": {"after": None, "before": None}, "exportedAt": "2025-01-01T00:00:00+00:00",
            "messages": messages, "messageCount": len(messages)}


def message(number: int, minute: int, text: str = "", author: str = "1", reply: int | None = None,
            kind: str = "Default") -> dict[str, Any]:
    """Message ``number`` (its id), ``minute`` minutes after 10:00 on 1 May 2025."""
    when = datetime(2025, 5, 1, 10, tzinfo=UTC) + timedelta(minutes=minute)
    raw: dict[str, Any] = {
        "id": str(number), "type": kind, "timestamp": when.isoformat(), "content": text or f"m{number}",
        "author": {"id": author, "name": f"user{author}", "discriminator": "0000", "isBot": False},
    }
    if reply is not None:
        raw["reference"] = {"messageId": str(reply), "channelId": "500", "guildId": "9"}
    return raw


def write(folder: Path, name: str, data: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return folder / name


def test_sample_threads_each_message_once_and_the_thread_file_under_its_parent() -> None:
    loaded, report = load_folder(EXPORT)
    threads = by_id(loaded)
    assert report.errors == []
    posts = [p.id for t in loaded.threads for p in t.posts]
    assert len(posts) == len(set(posts)) == 19  # 13 + 6 in the thread, overlap counted once
    assert {t.channel for t in loaded.threads} == {"swarm-watch"}
    thread = threads["discord:1370843018323689486"]
    assert thread.title == "Trap placement on Holm Street" and len(thread.posts) == 6
    call = threads["discord:1090000000000000101:1368285532236414977"]
    assert len(call.posts) == 6  # the 18:37 reply and the newcomer's question join the swarm call
    assert call.posts[3].text.endswith("[attachment: tanner-row-swarm.jpg]") and call.posts[3].score == 6
    assert ":bee:" in call.posts[3].text


def test_sample_housekeeping_left_out_and_a_reply_to_a_deleted_message_kept() -> None:
    loaded, report = load_folder(EXPORT)
    texts = [p.text for t in loaded.threads for p in t.posts]
    assert all(text.strip() for text in texts) and "Trap placement on Holm Street" not in texts
    [warning] = report.warnings[:1]
    assert "1368514052082499596" in warning.where and "not in the export" in warning.message
    bait = by_id(loaded)["discord:1090000000000000101:1368510506779934729"]
    deleted_reply = next(p for p in bait.posts if p.id == "discord:1368514052082499596")
    assert deleted_reply.reply_to is None
    assert [p.reply_to for p in bait.posts][1] == "discord:1368510506779934729"


def test_sample_authors_resolve_to_members_and_a_stranger_becomes_one() -> None:
    loaded, _ = load_folder(EXPORT)
    authors = {p.author for t in loaded.threads for p in t.posts}
    assert authors == {"m05", "m08", "m15", "discord:480000000000000042"}
    assert {m.id: m.name for m in loaded.members}["discord:480000000000000042"] == "Wren"


def test_old_schema_raw_markup_is_made_readable() -> None:
    loaded, _ = load_folder(EXPORT)
    reply = next(p for t in loaded.threads for p in t.posts if p.id == "discord:1371395396844257298")
    assert reply.text.startswith("@hana.sato good plan") and reply.text.endswith(":queenbee:")


def test_embeds_stickers_and_attachments_are_named() -> None:
    raw = {"content": "see this", "attachments": [{"fileName": "frame.jpg"}], "stickers": [{"name": "bee"}],
           "embeds": [{"title": "Guide", "description": "How to", "fields": [{"name": "Size", "value": "40 l"}]}]}
    assert render_text(raw) == "see this\n[attachment: frame.jpg]\n[sticker: bee]\n[embed: Guide]\nHow to\nSize: 40 l"


def test_types_dce_writes_as_numbers_and_forwarded_messages() -> None:
    assert parse_message(message(1, 0, "pong", kind="20")) is not None  # a slash command's reply
    assert parse_message(message(2, 0, "", kind="21")) is None  # a thread's starter message
    forward = message(3, 0, "look", reply=7) | {"forwardedMessage": {"content": "swarm on the bus stop"}}
    forward["reference"]["type"] = "Forward"
    parsed = parse_message(forward)
    assert parsed is not None and parsed.reply_to is None
    assert parsed.text == "look\n[forwarded]\nswarm on the bus stop"


def test_overlapping_exports_give_the_same_conversations_as_one_full_export(tmp_path: Path) -> None:
    messages = [message(i, minute) for i, minute in enumerate([0, 5, 10, 60, 65, 200, 203, 206], start=100)]
    write(tmp_path / "one", "full.json", export(messages))
    write(tmp_path / "two", "a.json", export(messages[:5]))
    write(tmp_path / "two", "b.json", export(messages[2:]))
    full, _ = load_folder(tmp_path / "one")
    split, report = load_folder(tmp_path / "two")
    assert report.problems == []
    assert sorted((t.id, [p.id for p in t.posts]) for t in split.threads) == \
        sorted((t.id, [p.id for p in t.posts]) for t in full.threads)
    assert [len(t.posts) for t in full.threads] == [3, 2, 3]


def test_one_ingest_reads_a_channel_split_over_files_once(tmp_path: Path) -> None:
    messages = [message(i, minute) for i, minute in enumerate([0, 5, 10, 60], start=100)]
    first = write(tmp_path, "general [500] [part 1].json", export(messages[:2]))
    second = write(tmp_path, "general [500] [part 2].json", export(messages[2:]))
    report = Report()
    yielded = [list(LOADER.load(SourceFile(path, path.name), report)) for path in (second, first)]
    assert [len(records) for records in yielded] == [3, 0]  # an account and two conversations; then nothing
    assert len(list(LOADER.load(SourceFile(first, first.name), Report()))) == 3  # a new ingest reads it again


def test_a_reply_joins_its_conversation_across_other_talk() -> None:
    warned: list[Message] = []
    grouper = Grouper("500", warned.append)
    account = author_account({"id": "1", "name": "a"})
    start = datetime(2025, 5, 1, tzinfo=UTC)

    def add(number: int, minutes: int, reply: int | None = None) -> list[int]:
        msg = Message(number, start + timedelta(minutes=minutes), account, "x", reply, None, 0)
        return [c.key for c in grouper.add(msg)]

    add(1, 0), add(2, 50), add(3, 55, reply=1), add(4, 58), add(5, 60, reply=999)
    assert add(6, 60 * 24 * 8) == [1, 2]  # both closed after eight days of silence
    assert [[m.id for m in c.messages] for c in grouper.finish()] == [[6]]
    assert [m.id for m in warned] == [5]


def test_a_direct_message_export_is_skipped_unless_its_sidecar_says_who_may_read_it(tmp_path: Path) -> None:
    path = write(tmp_path, "dm.json", export([message(1, 0)], channel_type="DirectTextChat"))
    report = Report()
    assert list(LOADER.load(SourceFile(path, "dm.json"), report)) == []
    assert "set `visibility:` in dm.json.meta.yaml" in report.errors[0].message
    (tmp_path / "dm.json.meta.yaml").write_text("visibility: [mentors]\n")
    pages = [r for r in LOADER.load(SourceFile(path, "dm.json"), Report()) if hasattr(r, "thread")]
    assert [p.thread.visibility for p in pages] == [("mentors",)]


def test_a_channel_sidecar_covers_its_other_exports_and_its_threads(tmp_path: Path) -> None:
    write(tmp_path, "a.json", export([message(1, 0)]))
    write(tmp_path, "b.json", export([message(2, 1)]))
    thread = export([message(3, 2)], channel_type="GuildPublicThread", channel_id="600", parent="general")
    thread["channel"]["categoryId"] = "500"
    write(tmp_path, "thread.json", thread)
    (tmp_path / "b.json.meta.yaml").write_text("visibility: [mentors]\n")
    loaded, report = load_folder(tmp_path)
    assert report.problems == []
    assert {t.id: t.visibility for t in loaded.threads} == {"discord:500:1": ("mentors",), "discord:600": ("mentors",)}


def test_exports_of_one_channel_that_disagree_on_visibility_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "a.json", export([message(1, 0)]))
    write(tmp_path, "b.json", export([message(2, 1)]))
    (tmp_path / "a.json.meta.yaml").write_text("visibility: public\n")
    (tmp_path / "b.json.meta.yaml").write_text("visibility: [mentors]\n")
    loaded, report = load_folder(tmp_path)
    assert loaded.threads == [] and "disagree on visibility" in report.errors[0].message


def test_a_truncated_file_keeps_what_came_before_the_break(tmp_path: Path) -> None:
    text = json.dumps(export([message(1, 0, "first"), message(2, 1, "second")]), indent=1)
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index('"second"')])
    report = Report()
    records = list(LOADER.load(SourceFile(path, "cut.json"), report))
    assert [p.text for r in records if hasattr(r, "thread") for p in r.thread.posts] == ["first"]
    assert "invalid JSON after 1 messages" in report.errors[0].message


def test_a_wrong_format_forced_on_a_file_is_an_error_not_a_crash() -> None:
    topic = SAMPLE / "exports" / "discourse" / "t-230.json"
    report = Report()
    assert list(LOADER.load(SourceFile(topic, "t-230.json"), report)) == []
    assert report.errors[0].where == "t-230.json"
    assert "not a readable DiscordChatExporter export" in report.errors[0].message


def test_detection_reads_content_not_names(tmp_path: Path) -> None:
    write(tmp_path, "channel.txt", export([message(1, 0)]))
    write(tmp_path, "other.json", {"guild": 1, "messages": []})
    found = discover([tmp_path], Report())
    assert [(s.rel, loader.name) for s, loader in found] == [("channel.txt", "discord")]


def _mangle(data: dict[str, Any], draw: Callable[..., Any]) -> bytes:
    text = json.dumps(data, indent=1).encode()
    how = draw(st.sampled_from(["truncate", "bytes", "field", "swap"]))
    if how == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if how == "bytes":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.binary(min_size=1, max_size=40)) + text[at:]
    messages = data["messages"]
    target = messages[draw(st.integers(0, len(messages) - 1))]
    key = draw(st.sampled_from(sorted(target)))
    if how == "field":
        target[key] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
    else:
        other = draw(st.sampled_from(sorted(data)))
        data[other], target[key] = target[key], data[other]
    return json.dumps(data).encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), st.sampled_from([CHANNEL, LATER, THREAD]))
def test_mangled_exports_are_reported_never_raised(tmp_path: Path, data: st.DataObject, name: str) -> None:
    source = json.loads((EXPORT / name).read_text(encoding="utf-8"))
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "x.json"
    path.write_bytes(_mangle(source, data.draw))
    report = Report()
    if LOADER.matches(SourceFile(path, "x.json")):
        for record in LOADER.load(SourceFile(path, "x.json"), report):
            assert record is not None


@pytest.mark.integration
def test_ingest_embeds_only_new_messages(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "src"
    (corpus / "discord").mkdir(parents=True)
    shutil.copy(SAMPLE / "members.jsonl", corpus / "members.jsonl")
    shutil.copy(EXPORT / THREAD, corpus / "discord" / THREAD)
    index = IndexDir(tmp_path / "ix")
    first = ingest([corpus], index, embedder)
    assert first.errors == 0 and first.documents_new == 1
    assert ingest([corpus], index, embedder).chunks_embedded == 0
    data = json.loads((corpus / "discord" / THREAD).read_text(encoding="utf-8"))
    data["messages"].append(dict(data["messages"][-1], id="1371200000000000000", timestamp="2025-05-11T19:00:00+00:00",
                                 content="Update: the colony is calm and already filling two frames.", reference=None))
    (corpus / "discord" / THREAD).write_text(json.dumps(data), encoding="utf-8")
    again = ingest([corpus], index, embedder)
    assert again.documents_changed == 1 and 1 <= again.chunks_embedded <= 2
    authors = {p.author for p in stored_posts(index.open())}
    assert authors == {"m05", "m08", "m15", "discord:480000000000000042"}
