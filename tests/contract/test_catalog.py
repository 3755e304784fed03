"""Contract of :class:`retrieval.storage.Catalog` (and its builder), for every backend."""

from __future__ import annotations

import pytest

from retrieval.filters import Filters, admits, visible_to
from retrieval.index import IndexDir, Snapshot
from retrieval.records import Thread, to_iso
from tests.contract.cases import FILTER_CASES
from tests.contract.world import DOCUMENTS, GROUP_SETS, MEMBERS, HashingEmbedder, entries_of, thread, write

pytestmark = pytest.mark.unit
ALL_IDS = [d.id for d in DOCUMENTS]


def visible_ids(groups: tuple[str, ...]) -> set[str]:
    return {d.id for d in DOCUMENTS if visible_to(d.visibility, groups)}


def test_counts_and_hashes(world: Snapshot) -> None:
    assert world.catalog.counts() == {"threads": 4, "posts": 9, "resources": 3, "chunks": 12, "members": 4}
    hashes = world.catalog.document_hashes()
    assert set(hashes) == set(ALL_IDS) and hashes["r-pub"] == ("hash-r-pub-1", "world")
    assert world.catalog.members() == {m.id: m for m in MEMBERS}
    assert set(world.catalog.members(["m02", "m99"])) == {"m02"}


def test_post_documents_locate_stored_posts_whatever_their_visibility(world: Snapshot) -> None:
    posts = {p.id: d.id for d in DOCUMENTS if isinstance(d, Thread) for p in d.posts}
    assert world.catalog.post_documents([*posts, "no-such-post"]) == posts


def test_empty_catalog(empty: Snapshot) -> None:
    assert empty.catalog.counts() == {"threads": 0, "posts": 0, "resources": 0, "chunks": 0, "members": 0}
    assert empty.catalog.select_chunks(Filters(), ()) is None
    assert empty.catalog.chunks([1, 2], ()) == {}
    assert empty.catalog.list_documents("thread", ("mentors",)) == []
    assert empty.catalog.facets(()) == {"channels": [], "tags": [], "sources": []}


@pytest.mark.parametrize("groups", GROUP_SETS)
@pytest.mark.parametrize("where", FILTER_CASES)
def test_select_chunks_matches_the_reference_rule(world: Snapshot, where: Filters, groups: tuple[str, ...]) -> None:
    selected = world.catalog.select_chunks(where, groups)
    assert selected is not None  # the world has private documents: never "everything"
    assert set(selected.tolist()) == {e.id for e in entries_of(DOCUMENTS) if admits(where, e, groups)}


@pytest.mark.parametrize("groups", GROUP_SETS)
def test_every_read_applies_the_visibility_rule(world: Snapshot, groups: tuple[str, ...]) -> None:
    catalog, visible = world.catalog, visible_ids(groups)
    chunk_ids = [e.id for e in entries_of(DOCUMENTS)]
    assert {c.doc_id for c in catalog.chunks(chunk_ids, groups).values()} == visible
    owners = catalog.chunk_documents([*chunk_ids, 12345], groups)  # an unknown id too
    assert owners == {i: c.doc_id for i, c in catalog.chunks(chunk_ids, groups).items()}
    assert set(catalog.chunk_ids(ALL_IDS, groups)) == visible
    assert set(catalog.documents(ALL_IDS, groups)) == visible
    listed = catalog.list_documents("thread", groups) + catalog.list_documents("resource", groups)
    assert {d.id for d in listed} == visible
    assert {t.id for t in catalog.thread_stats(groups, 100)} == {i for i in visible if i.startswith("t-")}
    assert {p.doc_id for p in catalog.posts_of(ALL_IDS, groups)} == {i for i in visible if i.startswith("t-")}
    assert {c.doc_id for c in catalog.contributions(ALL_IDS, groups)} == visible
    assert {c.doc_id for c in catalog.member_contributions([m.id for m in MEMBERS], groups)} == visible
    channels = {d.channel for d in DOCUMENTS if d.id in visible and getattr(d, "channel", "")}
    assert {value for value, _ in catalog.facets(groups)["channels"]} == channels
    tags = {t for d in DOCUMENTS if d.id in visible for t in d.tags}
    assert {value for value, _ in catalog.facets(groups)["tags"]} == tags
    assert {value for value, _ in catalog.facets(groups)["sources"]} == {d.source for d in DOCUMENTS if d.id in visible}


def test_records_read_back_as_written(world: Snapshot) -> None:
    catalog = world.catalog
    [question, accepted, last] = catalog.posts_of(["t-pub-1"], ())
    assert (question.position, accepted.position, last.position) == (0, 1, 2)
    assert accepted.accepted and not last.accepted and accepted.author_name == "Bo" and last.score == 2
    assert accepted.created_at == "2024-03-02T00:00:00Z" and accepted.reply_to == "t-pub-1-p0"
    roles = [(c.member_id, c.role) for c in catalog.contributions(["t-pub-1", "r-pub"], ())]
    assert roles == [("m01", "author"), ("m01", "question"), ("m02", "accepted"), ("m03", "answer")]
    resource = catalog.documents(["r-undated"], ())["r-undated"]
    assert resource.kind == "resource" and resource.created_at is None and resource.body.startswith("Honey labels")
    private = catalog.documents(["t-priv-2"], ("board",))["t-priv-2"]
    assert set(private.groups) == {"board", "mentors"} and private.tags == ("budget", "winter")
    ids = catalog.chunk_ids(["t-pub-1"], ())["t-pub-1"]
    infos = catalog.chunks(ids, ())
    assert [infos[i].position for i in ids] == [0, 1, 2]
    assert infos[ids[1]].accepted and infos[ids[1]].author_name == "Bo" and infos[ids[1]].tags == ("varroa", "winter")
    [newest, *_] = catalog.thread_stats((), 10)
    assert (newest.id, newest.posts, newest.score) == ("t-pub-2", 2, 1)
    assert catalog.facets(())["tags"][0] == ("honey", 2)


def test_add_remove_and_replace(index_dir: IndexDir) -> None:
    write(index_dir, DOCUMENTS)
    changed = thread("t-pub-2", "market", "forum", ("honey", "labels"), (), [
        ("m02", "2025-07-01", "When is honey ready to extract from the hive?"),
    ], "Ready to extract")
    write(index_dir, [changed], remove=["t-pub-1"])
    snapshot = index_dir.open(HashingEmbedder.model_id)
    catalog = snapshot.catalog
    assert "t-pub-1" not in catalog.document_hashes()
    assert catalog.counts()["chunks"] == 12 - 3 - 1
    assert catalog.documents(["t-pub-2"], ())["t-pub-2"].channel == "market"
    assert [p.id for p in catalog.posts_of(["t-pub-2"], ())] == ["t-pub-2-p0"]
    assert catalog.contributions(["t-pub-1"], ()) == []
    snapshot.close()


@pytest.mark.parametrize("groups", GROUP_SETS)
def test_latest_activity_is_the_latest_visible_date(world: Snapshot, groups: tuple[str, ...]) -> None:
    dates = [p.created_at for d in DOCUMENTS if visible_to(d.visibility, groups) for p in getattr(d, "posts", ())]
    dates += [d.created_at for d in DOCUMENTS if visible_to(d.visibility, groups) and not hasattr(d, "posts")]
    expected = max(to_iso(x) or "" for x in dates if x is not None)
    assert world.catalog.latest_activity(groups) == expected


@pytest.mark.parametrize("groups", GROUP_SETS)
def test_latest_activity_until_a_moment_ignores_what_is_dated_after(world: Snapshot, groups: tuple[str, ...]) -> None:
    dates = sorted({to_iso(p.created_at) for d in DOCUMENTS if visible_to(d.visibility, groups)
                    for p in getattr(d, "posts", ()) if p.created_at is not None}
                   | {to_iso(d.created_at) for d in DOCUMENTS if visible_to(d.visibility, groups)
                      and not hasattr(d, "posts") and d.created_at is not None})
    assert len(dates) >= 2
    assert world.catalog.latest_activity(groups, until=dates[-1]) == dates[-1]
    assert world.catalog.latest_activity(groups, until=dates[-2]) == dates[-2]
    assert world.catalog.latest_activity(groups, until="1999-01-01T00:00:00Z") is None


def test_latest_activity_of_nothing_dated(empty: Snapshot) -> None:
    assert empty.catalog.latest_activity(()) is None


def answering(groups: tuple[str, ...], since: str | None, until: str | None) -> dict[str, int]:
    """The reference count behind ``top_answerers``: answering roles (post_role / resource
    authors) in visible documents, dated within the bounds (undated only without ``since``)."""
    from collections import Counter

    from retrieval.records import ANSWER_ROLES, post_role

    found: Counter[str] = Counter()
    for doc in DOCUMENTS:
        if not visible_to(doc.visibility, groups):
            continue
        posts = getattr(doc, "posts", None)
        rows = ([(post_role(i, p, posts[0].author), p.author, p.created_at) for i, p in enumerate(posts)]
                if posts is not None else [("author", a, doc.created_at) for a in doc.authors])
        for role, member, moment in rows:
            when = to_iso(moment)
            dated_ok = (since is None or (when is not None and when >= since)) and (
                until is None or when is None or when <= until)
            if role in ANSWER_ROLES and dated_ok:
                found[member] += 1
    return dict(found)


@pytest.mark.parametrize("groups", GROUP_SETS)
@pytest.mark.parametrize("bounds", [(None, None), (None, "2025-01-01T00:00:00Z"), ("2024-06-01T00:00:00Z", None)])
def test_top_answerers_count_visible_answers_in_the_bounds(
    world: Snapshot, groups: tuple[str, ...], bounds: tuple[str | None, str | None],
) -> None:
    expected = sorted(answering(groups, *bounds).items(), key=lambda kv: (-kv[1], kv[0]))
    assert world.catalog.top_answerers(groups, 50, since=bounds[0], until=bounds[1]) == expected
    assert world.catalog.top_answerers(groups, 1, since=bounds[0], until=bounds[1]) == expected[:1]
