"""The Discourse topic JSON loader on the sample export, on edge cases and on mangled files."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.discover import discover
from ingest.pipeline import ingest
from ingest.sources.base import Report, SourceFile
from ingest.sources.discourse import DiscourseLoader
from ingest.sources.discourse_html import cooked_to_text
from ingest.sources.members_jsonl import MembersLoader
from ingest.validate import Loaded, collect
from retrieval.index import IndexDir
from retrieval.records import Thread
from tests.helpers import stored_posts

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).resolve().parent.parent / "corpus" / "sample"
EXPORT = SAMPLE / "exports" / "discourse"
LOADER = DiscourseLoader()


def load_folder(folder: Path) -> tuple[Loaded, Report]:
    """Every file in ``folder`` through the loader and the cross-file checks, with the sample's members."""
    report = Report()
    members = SourceFile(SAMPLE / "members.jsonl", "members.jsonl")
    records: list[tuple[str, Any]] = [("members.jsonl", m) for m in MembersLoader().load(members, report)]
    for path in sorted(folder.glob("*.json"), reverse=True):  # pages in no particular order
        records += [(path.name, r) for r in LOADER.load(SourceFile(path, path.name), report)]
    return collect(records, report, []), report


def by_id(loaded: Loaded) -> dict[str, Thread]:
    return {t.id: t for t in loaded.threads}


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXPORT / name).read_text(encoding="utf-8"))
    return data


def write(folder: Path, name: str, data: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return folder / name


def test_sample_topics_pages_merge_and_each_post_is_kept_once() -> None:
    loaded, report = load_folder(EXPORT)
    assert report.problems == []
    threads = by_id(loaded)
    assert sorted(threads) == ["discourse:212", "discourse:230", "discourse:241", "discourse:57"]
    wax = threads["discourse:212"]
    assert [p.id for p in wax.posts] == [f"discourse:212:{n}" for n in range(1, 7)]
    assert wax.title.startswith("Solar wax melter") and wax.channel == "Gear and builds"
    assert wax.tags == ("beeswax", "diy") and threads["discourse:57"].tags == ("paint", "hive-boxes")
    assert wax.posts[3].reply_to == "discourse:212:2" and wax.posts[1].score == 4
    assert wax.url == "https://forum.canopy.example/t/solar-wax-melter-from-an-old-window/212"  # host from avatars


def test_sample_accepted_answer_small_actions_and_whispers() -> None:
    threads = by_id(load_folder(EXPORT)[0])
    balcony = threads["discourse:230"]
    assert [p.accepted for p in balcony.posts] == [False, False, True, False]  # the close notice left out
    old = threads["discourse:57"]
    # the whisper (post 3) and the auto-close notice (post 5) are left out
    assert [p.id for p in old.posts] == ["discourse:57:1", "discourse:57:2", "discourse:57:4"]
    assert old.posts[1].score == 3  # likes from actions_summary in a 2016 export


def test_sample_restricted_category_becomes_a_group_and_others_stay_public() -> None:
    threads = by_id(load_folder(EXPORT)[0])
    assert threads["discourse:241"].visibility == ("discourse:mentors-lounge",)
    assert threads["discourse:241"].channel == "Mentors lounge"
    assert all(threads[t].visibility == () for t in ("discourse:212", "discourse:230", "discourse:57"))


def test_sample_authors_resolve_across_platforms() -> None:
    loaded, _ = load_folder(EXPORT)
    assert {p.author for p in by_id(loaded)["discourse:230"].posts} == {"m03", "m06", "m11"}
    assert {m.id: m.name for m in loaded.members}["discourse:benedikt_h"] == "Benedikt Hartmann"


def test_cooked_html_is_reduced_to_its_text() -> None:
    wax = by_id(load_folder(EXPORT)[0])["discourse:212"]
    assert "[link: Solar wax melters - Canopy Collective guides] https://canopy.example/guides/solar-wax-melter" \
        in wax.posts[0].text
    assert wax.posts[1].text.endswith(":sunny:")
    assert "[image: wax-melter-crate.jpeg]" in wax.posts[2].text and "214 KB" not in wax.posts[2].text
    assert wax.posts[3].text.startswith("> tomasz_w wrote:\n> put the cappings")
    assert cooked_to_text('<p>a <img class="avatar" src="x"> <img src="y" alt="hive diagram"> <b>b') == \
        "a [image: hive diagram] b"


def test_a_lightbox_without_its_wrapper_is_still_only_its_file_name() -> None:
    cooked = ('<p><a class="lightbox" href="/uploads/trap.jpg" title="trap.jpg"><img src="/t.jpg" alt="trap">'
              '<div class="meta"><span class="filename">trap.jpg</span>'
              '<span class="informations">800×600 100 KB</span></div></a></p>')
    assert cooked_to_text(cooked) == "[image: trap.jpg]"


def test_a_quote_in_a_reply_is_shown_but_not_embedded() -> None:
    from ingest.chunking import kept_ranges
    from ingest.sources.discourse_html import quoted_ranges

    text = cooked_to_text('<aside class="quote" data-username="ines_a"><blockquote><p>Where do I hang it?</p>'
                          '</blockquote></aside><p>Three metres up, facing south.</p>')
    assert text.startswith("> ines_a wrote:\n> Where do I hang it?")
    kept = "".join(text[a:b] for a, b in kept_ranges(len(text), quoted_ranges(text)))
    assert kept.strip() == "Three metres up, facing south."


def test_without_a_categories_file_channels_are_ids_and_an_embedded_restriction_still_holds(tmp_path: Path) -> None:
    write(tmp_path, "t-212.json", sample("t-212.json"))
    restricted = sample("t-241.json")
    restricted["category"] = {"id": 9, "slug": "mentors-lounge", "read_restricted": True}
    write(tmp_path, "t-241.json", restricted)
    threads = by_id(load_folder(tmp_path)[0])
    assert threads["discourse:212"].channel == "category-5" and threads["discourse:212"].visibility == ()
    assert threads["discourse:241"].visibility == ("discourse:mentors-lounge",)


def test_a_category_missing_from_the_categories_file_is_taken_as_restricted(tmp_path: Path) -> None:
    write(tmp_path, "site.json", {"categories": [{"id": 5, "name": "Gear", "slug": "gear", "read_restricted": False}]})
    write(tmp_path, "t-241.json", sample("t-241.json"))
    loaded, report = load_folder(tmp_path)
    assert loaded.threads[0].visibility == ("discourse:category-9",)
    assert "may be restricted" in report.warnings[0].message


def test_a_subcategory_of_a_restricted_category_is_restricted(tmp_path: Path) -> None:
    categories = {"category_list": {"categories": [
        {"id": 2, "name": "Staff", "slug": "staff", "read_restricted": True,
         "subcategory_list": [{"id": 9, "name": "Lounge", "slug": "lounge", "parent_category_id": 2}]}]}}
    write(tmp_path, "categories.json", categories)
    write(tmp_path, "t-241.json", sample("t-241.json"))
    assert load_folder(tmp_path)[0].threads[0].visibility == ("discourse:lounge",)


def test_an_unreadable_categories_file_skips_the_topics_beside_it(tmp_path: Path) -> None:
    (tmp_path / "site.json").write_text('{"categories": [{"id": 9, "read_restricted": tr')
    write(tmp_path, "t-241.json", sample("t-241.json"))
    loaded, report = load_folder(tmp_path)
    assert loaded.threads == [] and any("site.json beside it cannot be read" in e.message for e in report.errors)


def test_pages_without_their_topic_file_are_skipped_not_published(tmp_path: Path) -> None:
    write(tmp_path, "t-212-posts-2.json", sample("t-212-posts-2.json"))
    loaded, report = load_folder(tmp_path)
    assert loaded.threads == [] and "who may read it is unknown" in report.errors[0].message


def test_posts_the_stream_lists_but_no_file_holds_are_named_in_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "t-212.json", sample("t-212.json"))
    loaded, report = load_folder(tmp_path)
    assert len(loaded.threads[0].posts) == 3
    [warning] = report.warnings
    assert "topic 212 'Solar wax melter" in warning.message and "3 of them" in warning.message


def test_private_messages_and_deleted_topics_are_left_out(tmp_path: Path) -> None:
    topic = sample("t-230.json")
    topic["archetype"] = "private_message"
    write(tmp_path / "pm", "pm.json", topic)
    gone = sample("t-57.json") | {"deleted_at": "2017-01-02T03:04:05.000Z"}
    write(tmp_path / "deleted", "t-57.json", gone)
    for folder, reason in (("pm", "private message"), ("deleted", "deleted topic")):
        loaded, report = load_folder(tmp_path / folder)
        assert loaded.threads == [] and reason in report.warnings[0].message


def test_an_old_quote_title_names_its_author() -> None:
    cooked = ('<aside class="quote" data-post="2" data-topic="57"><div class="title"><div class="quote-controls">'
              '</div><img width="20" height="20" src="/a.png" class="avatar">rosa_d said:</div>'
              "<blockquote>Outside only.</blockquote></aside><p>Thanks!</p>")
    assert cooked_to_text(cooked) == "> rosa_d wrote:\n> Outside only.\n\nThanks!"


def test_a_post_without_what_is_needed_is_an_error_and_the_rest_is_kept(tmp_path: Path) -> None:
    topic = sample("t-57.json")
    del topic["post_stream"]["posts"][1]["username"]
    topic["post_stream"]["posts"][3]["created_at"] = "yesterday"
    write(tmp_path, "t-57.json", topic)
    loaded, report = load_folder(tmp_path)
    assert [p.id for p in loaded.threads[0].posts] == ["discourse:57:1"]
    assert [e.where for e in report.errors] == ["t-57.json:post 303", "t-57.json:post 306"]


def test_a_wrong_format_forced_on_a_file_is_an_error_not_a_crash() -> None:
    channel = next((SAMPLE / "exports" / "discord").glob("*.json"))
    report = Report()
    assert list(LOADER.load(SourceFile(channel, channel.name), report)) == []
    assert "not a Discourse topic" in report.errors[0].message


def test_detection_claims_topics_and_categories_files_only(tmp_path: Path) -> None:
    shutil.copytree(EXPORT, tmp_path / "forum")
    write(tmp_path / "forum", "other.json", {"categories": []})
    report = Report()
    found = {s.rel: loader.name for s, loader in discover([tmp_path / "forum"], report)}
    assert found == {name: "discourse" for name in (
        "categories.json", "t-212-posts-2.json", "t-212.json", "t-230.json", "t-241.json", "t-57.json")}


def _mangle(data: dict[str, Any], draw: Callable[..., Any]) -> bytes:
    text = json.dumps(data).encode()
    how = draw(st.sampled_from(["truncate", "bytes", "field", "swap", "topic"]))
    if how == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if how == "bytes":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.binary(min_size=1, max_size=40)) + text[at:]
    junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=5),
                     st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    posts = data["post_stream"]["posts"]
    target = posts[draw(st.integers(0, len(posts) - 1))] if how != "topic" else data
    key = draw(st.sampled_from(sorted(target)))
    if how == "swap":
        other = draw(st.sampled_from(sorted(target)))
        target[key], target[other] = target[other], target[key]
    else:
        target[key] = draw(junk)
    return json.dumps(data).encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), st.sampled_from(["t-212.json", "t-230.json", "t-241.json", "t-212-posts-2.json"]))
def test_mangled_topics_are_reported_never_raised(tmp_path: Path, data: st.DataObject, name: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    shutil.copy(EXPORT / "categories.json", folder / "categories.json")
    path = folder / name
    path.write_bytes(_mangle(copy.deepcopy(sample(name)), data.draw))
    source = SourceFile(path, name)
    if LOADER.matches(source):
        records = list(LOADER.load(source, Report()))
        assert all(r is not None for r in records)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_mangled_categories_file_never_publishes_a_restricted_topic_by_crashing(tmp_path: Path,
                                                                                 data: st.DataObject) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    categories = sample("categories.json")
    index = data.draw(st.integers(0, 2))
    key = data.draw(st.sampled_from(["id", "slug", "read_restricted", "name", "subcategory_list"]))
    value = data.draw(st.one_of(st.none(), st.booleans(), st.integers(-2, 12), st.text(max_size=4),
                                st.lists(st.integers(), max_size=2)))
    categories["category_list"]["categories"][index][key] = value
    text = json.dumps(categories).encode()
    (folder / "categories.json").write_bytes(text[: data.draw(st.sampled_from([len(text), len(text) // 2]))])
    write(folder, "t-241.json", sample("t-241.json"))
    loaded, _ = load_folder(folder)
    unrestricted_on_purpose = (index, key) == (2, "read_restricted") and value in (None, False)
    assert all(t.visibility for t in loaded.threads) or unrestricted_on_purpose


@pytest.mark.integration
def test_ingest_embeds_only_new_posts(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "src"
    shutil.copytree(EXPORT, corpus / "forum")
    shutil.copy(SAMPLE / "members.jsonl", corpus / "members.jsonl")
    index = IndexDir(tmp_path / "ix")
    first = ingest([corpus], index, embedder)
    assert first.errors == 0 and first.documents_new == 4
    counts = index.open().manifest.counts
    assert counts["threads"] == 4
    posts = stored_posts(index.open(), ("discourse:mentors-lounge",))
    assert {p.author for p in posts if p.accepted} == {"m11"}
    assert ingest([corpus], index, embedder).chunks_embedded == 0
    page = sample("t-212-posts-2.json")
    extra = dict(page["post_stream"]["posts"][-1], id=2320, post_number=7, reply_to_post_number=6,
                 cooked="<p>Second batch done: two blocks of clean wax for the candle stall.</p>")
    page["post_stream"]["posts"].append(extra)
    write(corpus / "forum", "t-212-posts-2.json", page)
    again = ingest([corpus], index, embedder)
    assert again.documents_changed == 1 and again.chunks_embedded == 1
