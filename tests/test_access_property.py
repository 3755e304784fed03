"""Access control, property-tested over every endpoint on a generated community.

One community (public, single-group, two-group and other-group threads and resources;
members who write only in private) is ingested once with the real model. Hypothesis draws
callers (no key, or keys with any set of groups and either role), questions (often a private
document's own marker words), filters and document ids, and checks every endpoint: no marker
of a document the caller may not see, and no member known only from such documents, reaches
the caller; counts match the oracle; hidden and missing give the same 404; admin views show
only questions asked by callers sharing a group (or anonymous ones).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.keys import KeyStore
from app.main import create_app
from app.mcp_tools import Tools
from app.settings import RateLimit, Settings
from ingest.pipeline import ingest
from retrieval.content import list_members
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.errors import NotFoundError
from retrieval.index import IndexDir
from retrieval.library import Library
from tests.community import GROUPS, TOPICS, VISIBILITIES, Community, write_community

pytestmark = pytest.mark.integration
CALLER_GROUPS = [tuple(c) for n in range(len(GROUPS) + 2) for c in itertools.combinations((*GROUPS, "delta"), n)]
NONCE = re.compile(r"nonce\d+")

NO_RATE_LIMIT = RateLimit(per_minute=0, per_minute_key=0)
"""These tests make many requests from one address: the rate limit has its own tests."""


class World:
    """The served community, its oracle, keys for every (groups, role), and what was asked."""

    def __init__(self, client: TestClient, community: Community, keys: dict[tuple[tuple[str, ...], str], str],
                 chunks: dict[str, int], tools: Tools) -> None:
        self.client, self.community, self.keys, self.chunks = client, community, keys, chunks
        self.tools = tools
        """The MCP tools over the same index (the transports only decide the groups)."""
        self.asked: dict[str, tuple[str, ...] | None] = {}  # nonce -> asker's groups (None: anonymous)
        self.cases = 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[World]:
    root = tmp_path_factory.mktemp("community")
    community = write_community(root / "corpus")
    summary = ingest([root / "corpus"], IndexDir(root / "index"), embedder)
    assert summary.errors == 0, summary.problems
    store = KeyStore(root / "index")
    keys = {(g, role): store.add(f"k{n}", list(g), role)
            for n, (g, role) in enumerate(itertools.product(CALLER_GROUPS, ("member", "facilitator")))}
    catalog = IndexDir(root / "index").open().catalog
    chunks = {doc: len(ids) for doc, ids in catalog.chunk_ids([d.id for d in community.docs], GROUPS).items()}
    library = Library(IndexDir(root / "index"), embedder)
    with TestClient(create_app(Settings(index_dir=root / "index", rate_limit=NO_RATE_LIMIT))) as client:
        yield World(client, community, keys, chunks, Tools(lambda: library))


def callers() -> st.SearchStrategy[tuple[tuple[str, ...], str] | None]:
    """No key, or a key of any group set and role."""
    return st.none() | st.tuples(st.sampled_from(CALLER_GROUPS), st.sampled_from(("member", "facilitator")))


def questions(world: World) -> st.SearchStrategy[str]:
    """A private marker (so private documents are the best matches), a topic, or free text."""
    markers = sorted(s for d in world.community.docs for s in d.secrets)
    return st.one_of(st.sampled_from(markers), st.sampled_from(TOPICS),
                     st.text(st.characters(codec="ascii", categories=("L", "N", "Zs")), min_size=1, max_size=40)
                     .filter(str.strip))


def filters(world: World) -> st.SearchStrategy[dict[str, str]]:
    """Any mix of channel, tag, author, kind and dates, private channels and tags included."""
    secrets = sorted(s for d in world.community.docs for s in d.secrets)
    return st.fixed_dictionaries({}, optional={
        "channel": st.sampled_from(["general", *(s for s in secrets if s.startswith("ch"))]),
        "tag": st.sampled_from(["bees", *(s for s in secrets if s.startswith("tg"))]),
        "author": st.sampled_from(sorted(world.community.member_names)),
        "kind": st.sampled_from(["thread", "resource"]),
        "since": st.sampled_from(["2025-01-01", "2025-06-01"]), "until": st.sampled_from(["2025-12-31"]),
    })


def _check(payload: Any, forbidden: set[str], where: str) -> None:
    text = json.dumps(payload).lower()
    leaked = sorted(s for s in forbidden if s.lower() in text)
    assert not leaked, f"{where} leaked {leaked[:5]}"


def _expected_counts(world: World, groups: tuple[str, ...]) -> dict[str, int]:
    seen = [d for d in world.community.docs if d.visible_to(groups)]
    return {"threads": sum(d.kind == "thread" for d in seen), "posts": sum(d.posts for d in seen),
            "resources": sum(d.kind == "resource" for d in seen), "chunks": sum(world.chunks[d.id] for d in seen),
            "members": len(world.community.visible_members(groups))}


def check_reads(world: World, caller: tuple[tuple[str, ...], str] | None, q: str, f: dict[str, str],
                doc_index: int, member: str) -> None:
    """Every read endpoint, for one caller, question, filter set, document and member."""
    groups = caller[0] if caller else ()
    headers = {"X-API-Key": world.keys[caller]} if caller else {}
    forbidden, get = world.community.forbidden(groups), world.client.get
    _check(get("/search", params={"q": q, "k": 30, **f}, headers=headers).json(), forbidden, "/search")
    _check(get("/experts", params={"q": q, "k": 10, **{k: v for k, v in f.items() if k in ("channel", "tag")}},
               headers=headers).json(), forbidden, "/experts")
    doc = world.community.docs[doc_index % len(world.community.docs)]
    path = f"/{doc.kind}s/{doc.id}"
    got, missing = get(path, headers=headers), get(f"/{doc.kind}s/no-such-{doc.kind}", headers=headers)
    if doc.visible_to(groups):
        assert got.status_code == 200
    else:
        assert got.status_code == missing.status_code == 404
        assert got.json()["detail"].replace(doc.id, "X") == missing.json()["detail"].replace(f"no-such-{doc.kind}", "X")
    related = get(f"{path}/related", params={"k": 20}, headers=headers)
    if doc.kind == "thread" and doc.visible_to(groups):
        _check(related.json(), forbidden, "/related")
    elif doc.kind == "thread":
        assert related.status_code == 404
    members = get("/members", headers=headers).json()["members"]
    _check(members, forbidden, "/members")
    assert {m["id"] for m in members} == world.community.visible_members(groups)
    profile, nobody = get(f"/members/{member}", headers=headers), get("/members/nobody", headers=headers)
    if member in world.community.visible_members(groups):
        assert profile.status_code == 200
        _check(profile.json(), forbidden, "/members/{id}")
    else:  # the detail names only what the caller asked for, exactly as for a missing member
        assert profile.status_code == 404
        assert profile.json()["detail"] == nobody.json()["detail"].replace("nobody", member)
    _check(get("/overview", headers=headers).json(), forbidden, "/overview")
    stats = get("/stats", headers=headers).json()
    assert stats["counts"] == _expected_counts(world, groups)


def check_ask_and_admin(world: World, caller: tuple[tuple[str, ...], str] | None, q: str,
                        f: dict[str, str]) -> None:
    """/ask (text, citations, experts), feedback, and the admin views' privacy of questions."""
    groups = caller[0] if caller else ()
    headers = {"X-API-Key": world.keys[caller]} if caller else {}
    nonce = f"nonce{len(world.asked)}"
    answer = world.client.post("/ask", json={"question": f"{q} {nonce}", "filters": f}, headers=headers).json()
    world.asked[nonce] = groups if caller else None
    _check({k: v for k, v in answer.items() if k != "answer_id"}, world.community.forbidden(groups), "/ask")
    if caller:
        feedback = {"target": "answer", "answer_id": answer["answer_id"], "helpful": False, "comment": nonce}
        assert world.client.post("/feedback", json=feedback, headers=headers).status_code == 201
    for path in ("/admin/gaps", "/admin/feedback"):
        response = world.client.get(path, params={"max_confidence": 1.01} if "gaps" in path else {}, headers=headers)
        if not caller or caller[1] != "facilitator":
            assert response.status_code == (401 if not caller else 403)
            continue
        for seen in set(NONCE.findall(json.dumps(response.json()))):
            asker = world.asked[seen]
            assert asker is None or set(asker) & set(groups), f"{path} showed {seen} of {asker} to {groups}"


def check_mcp(world: World, caller: tuple[tuple[str, ...], str] | None, q: str, doc_index: int) -> None:
    """The five MCP tools, text and structured content: nothing the caller may not see, and a
    hidden document refused exactly like a missing one."""
    groups = caller[0] if caller else ()
    forbidden = world.community.forbidden(groups)
    for name, reply in (("search", world.tools.search(q, 30, groups)), ("ask", world.tools.ask(q, groups)),
                        ("experts", world.tools.experts(q, 10, groups))):
        _check([reply.text, reply.data], forbidden, f"mcp {name}")
    doc = world.community.docs[doc_index % len(world.community.docs)]
    fetch = world.tools.get_thread if doc.kind == "thread" else world.tools.get_resource
    if doc.visible_to(groups):
        _check(fetch(doc.id, groups).data, forbidden, "mcp get")
        return
    refusals = []
    for doc_id in (doc.id, f"no-such-{doc.kind}"):
        with pytest.raises(NotFoundError) as refused:
            fetch(doc_id, groups)
        refusals.append(str(refused.value).replace(doc_id, "X"))
    assert refusals[0] == refusals[1]


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_no_private_text_title_id_or_count_reaches_an_outsider(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(caller=callers(), q=questions(world), f=filters(world), doc_index=st.integers(0, 10**6),
           member=st.sampled_from(sorted(world.community.member_names)))
    def case(caller: Any, q: str, f: dict[str, str], doc_index: int, member: str) -> None:
        world.cases += 1
        check_reads(world, caller, q, f, doc_index, member)
        check_ask_and_admin(world, caller, q, f)
        check_mcp(world, caller, q, doc_index)

    case()
    with capsys.disabled():
        print(  # noqa: T201 - the count of cases tried is part of the test's report
            f"\naccess control: {world.cases} generated cases tried, {len(world.asked)} questions asked"
        )
    assert world.cases >= 40


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_small_generated_communities_keep_their_secrets(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whole communities drawn by hypothesis (a few documents each, so each costs one small
    ingest): search, counts and the member directory, for every group set."""
    tried = []

    @settings(max_examples=3, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(seed=st.integers(0, 10**6), threads=st.integers(1, 5), resources=st.integers(0, 2),
           visibilities=st.lists(st.sampled_from(VISIBILITIES), min_size=1, max_size=5).map(tuple))
    def community_case(seed: int, threads: int, resources: int, visibilities: tuple[tuple[str, ...], ...]) -> None:
        root = tmp_path_factory.mktemp("small")
        community = write_community(root / "corpus", seed, threads, resources, visibilities)
        ingest([root / "corpus"], IndexDir(root / "index"), embedder)
        library = Library(IndexDir(root / "index"), embedder)
        catalog = library.snapshot().catalog
        chunks = {doc: len(ids) for doc, ids in catalog.chunk_ids([d.id for d in community.docs], GROUPS).items()}
        markers = sorted({s for d in community.docs for s in d.secrets if s.startswith(("qz", "rz"))})
        for groups in VISIBILITIES:  # anonymous, each group alone, two groups
            forbidden = community.forbidden(groups)
            for marker in markers[:3]:
                _check([str(vars(h)) for h in library.searcher().search(marker, k=20, groups=groups)],
                       forbidden, "search")
            seen = [d for d in community.docs if d.visible_to(groups)]
            assert catalog.counts(groups) == {
                "threads": sum(d.kind == "thread" for d in seen), "posts": sum(d.posts for d in seen),
                "resources": sum(d.kind == "resource" for d in seen), "chunks": sum(chunks[d.id] for d in seen),
                "members": len(community.visible_members(groups))}
            assert {m["id"] for m in list_members(catalog, groups)} == community.visible_members(groups)
        tried.append(len(community.docs))

    community_case()
    with capsys.disabled():
        print(f"\naccess control: {len(tried)} generated communities ({sum(tried)} documents)")  # noqa: T201
    assert tried
