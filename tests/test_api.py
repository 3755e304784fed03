"""The HTTP API on the real sample index: contract, limits, auth, and no private leaks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from retrieval.index import IndexDir
from tests.conftest import API_KEYS, MEMBER_KEY, MENTOR_KEY

pytestmark = pytest.mark.integration
PRIVATE_TERMS = ("quarry lane", "mentor stipend")
MENTORS = {"X-API-Key": MENTOR_KEY}


@pytest.fixture(scope="module")
def client(sample_index: IndexDir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("api") / "index"
    shutil.copytree(sample_index.root, root)  # the API writes activity.sqlite beside the snapshots
    settings = Settings(index_dir=root, api_keys=API_KEYS, max_query_chars=300, max_k=50)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _leaks(payload: object) -> bool:
    text = json.dumps(payload).lower()
    return any(term in text for term in PRIVATE_TERMS) or '"mentors"' in text or "mt-00" in text


def test_health_and_stats(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    stats = client.get("/stats").json()
    assert stats["counts"]["threads"] >= 60 and stats["model"]["name"] == "all-MiniLM-L6-v2"
    assert stats["backend"] == "sqlite-sparse-faiss"  # the shared sample index is built with the default


def test_search_contract(client: TestClient) -> None:
    hits = client.get("/search", params={"q": "autumn feeding syrup ratio", "k": 5}).json()["hits"]
    assert len(hits) == 5
    for hit in hits:
        assert (hit["thread_id"] is None) != (hit["resource_id"] is None)
        assert {"post_id", "score", "text", "author", "created_at", "url"} <= hit.keys()
    filtered = client.get("/search", params={"q": "syrup", "k": 5, "channel": "seasonal-management"}).json()["hits"]
    assert filtered and {h["channel"] for h in filtered} == {"seasonal-management"}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"q": "x" * 301}, "at most 300 characters"),
        ({"q": "bees", "k": 51}, "must be between 1 and 50"),
        ({"q": ""}, "q is empty"),
        ({"q": "bees", "since": "last tuesday"}, "since: not an ISO 8601 date"),
        ({"q": "bees", "kind": "video"}, "kind"),
    ],
)
def test_bad_queries_get_422_with_the_reason(client: TestClient, params: dict[str, object], fragment: str) -> None:
    response = client.get("/search", params=params)
    assert response.status_code == 422
    assert fragment in json.dumps(response.json())
    assert isinstance(response.json()["detail"], list)  # as the schema says: one item per bad field


def test_ask_contract_and_citations_quote_real_text(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "What sugar syrup ratio should I feed in autumn?"}).json()
    assert not body["abstained"] and body["citations"] and body["experts"]
    assert 0 <= body["confidence"] <= 1
    for citation in body["citations"]:
        assert f"[{citation['n']}]" in body["answer"]
        if citation["thread_id"]:
            thread = client.get(f"/threads/{citation['thread_id']}").json()
            text = next(p["text"] for p in thread["posts"] if p["id"] == citation["post_id"])
        else:
            text = client.get(f"/resources/{citation['resource_id']}").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_unanswerable_question_abstains(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "How do I replace the timing belt on a diesel van?"}).json()
    assert body["abstained"] and not body["citations"]


def test_private_content_never_reaches_outsiders(client: TestClient) -> None:
    question = "What are the terms of the Quarry Lane lease and the mentor stipend?"
    for headers in ({}, {"X-API-Key": MEMBER_KEY}):
        assert not _leaks(client.get("/search", params={"q": question, "k": 50}, headers=headers).json())
        assert not _leaks(client.post("/ask", json={"question": question}, headers=headers).json())
        assert not _leaks(client.get("/experts", params={"q": question, "k": 20}, headers=headers).json())
        assert client.get("/threads/mt-001", headers=headers).status_code == 404
        assert client.get("/resources/resources/mentor-handbook.md", headers=headers).status_code == 404
        assert not _leaks(client.get("/threads/hh-001/related", params={"k": 20}, headers=headers).json())
    inside = client.post("/ask", json={"question": question}, headers=MENTORS).json()
    assert "quarry lane" in json.dumps(inside).lower()
    assert client.get("/threads/mt-001", headers=MENTORS).status_code == 200


def test_opted_out_member_is_never_suggested(client: TestClient) -> None:
    for q in ("bee sting allergy first aid", "what to do after a sting", "epipen and anaphylaxis"):
        experts = client.get("/experts", params={"q": q, "k": 20}).json()["experts"]
        assert experts and "m13" not in {e["member_id"] for e in experts}
    assert client.get("/members/m13").json()["opt_out"] is True


def test_write_endpoints_need_a_valid_key(client: TestClient) -> None:
    answer_id = client.post("/ask", json={"question": "How do I calibrate a refractometer?"}).json()["answer_id"]
    feedback = {"target": "answer", "answer_id": answer_id, "helpful": True, "comment": "clear"}
    assert client.post("/feedback", json=feedback).status_code == 401
    assert client.post("/feedback", json=feedback, headers={"X-API-Key": "not-a-key"}).status_code == 401
    assert client.post("/feedback", json=feedback, headers=MENTORS).status_code == 201
    summary = client.get("/admin/feedback", headers=MENTORS).json()
    assert summary["counts"]["answer_helpful"] >= 1
    missing = {"target": "answer", "answer_id": "nope", "helpful": False}
    assert client.post("/feedback", json=missing, headers=MENTORS).status_code == 404


def test_knowledge_gaps_group_similar_unanswered_questions(client: TestClient) -> None:
    for q in ("How do I fix a flat bicycle tyre?", "Repairing a punctured bike tyre", "Best sourdough hydration?"):
        client.post("/ask", json={"question": q})
    gaps = client.get("/admin/gaps", headers=MENTORS).json()["gaps"]
    tyre = next(g for g in gaps if "tyre" in g["label"].lower())
    assert tyre["count"] == 2
    assert client.get("/admin/gaps").status_code == 401


def test_unknown_thread_is_404_with_a_message(client: TestClient) -> None:
    response = client.get("/threads/does-not-exist")
    assert response.status_code == 404 and "does-not-exist" in response.json()["detail"]


def test_unknown_filters_and_parameters_are_422_naming_them(client: TestClient) -> None:
    misspelt = client.get("/search", params={"q": "syrup", "chanel": "seasonal-management"})
    assert misspelt.status_code == 422
    (error,) = misspelt.json()["detail"]
    assert error["loc"] == ["query", "chanel"]
    assert "'chanel'" in error["msg"] and "channel, source, author, tag, since, until, kind" in error["msg"]
    not_taken = client.get("/experts", params={"q": "queens", "author": "m01"})  # /experts filters channel, tag only
    assert not_taken.status_code == 422 and "'author'" in json.dumps(not_taken.json())
    body = client.post("/ask", json={"question": "autumn syrup?", "filters": {"chanel": "x", "tag": "feeding"}})
    assert body.status_code == 422
    message = json.dumps(body.json())
    assert "'chanel'" in message and "channel, source, author" in message and "'tag'" not in message
    for path, payload in (("/ask", {"question": "autumn syrup?", "fitlers": {}}),
                          ("/feedback", {"target": "expert", "member_id": "m01", "helpful": True, "rating": 5})):
        extra = client.post(path, json=payload, headers=MENTORS)
        assert extra.status_code == 422, path
        assert {"fitlers", "rating"} & set(json.dumps(extra.json()).replace('"', " ").split()), extra.json()


GET_PATHS = {  # one real request per GET route (path parameters filled in), with a valid key
    "/health": "/health", "/stats": "/stats", "/overview": "/overview", "/members": "/members",
    "/members/{member_id}": "/members/m01", "/threads/{thread_id}": "/threads/hh-001",
    "/threads/{thread_id}/related": "/threads/hh-001/related", "/resources/{resource_id}": "/resources/x",
    "/search": "/search?q=syrup", "/experts": "/experts?q=syrup", "/admin/feedback": "/admin/feedback",
    "/admin/gaps": "/admin/gaps",
}


def test_every_get_route_refuses_an_unknown_query_parameter_naming_it(client: TestClient) -> None:
    routes = {path for path, operations in client.get("/openapi.json").json()["paths"].items() if "get" in operations}
    assert routes == set(GET_PATHS), "a GET route without a case here"
    for path in GET_PATHS.values():
        response = client.get(path, params={"colour": "red"}, headers=MENTORS)
        assert response.status_code == 422, path
        (error,) = response.json()["detail"]
        assert error["loc"] == ["query", "colour"] and "unknown parameter 'colour'" in error["msg"], path
    known = client.get("/threads/hh-001/related", params={"k": 2, "q": "x"}).json()["detail"][0]["msg"]
    assert known.endswith("known: k")  # each route lists what it takes
    assert client.get("/members", params={}).status_code == 200


def test_author_filter_takes_a_member_id_display_name_or_handle(client: TestClient) -> None:
    def authors(author: str) -> list[tuple[str | None, str | None]]:
        hits = client.get("/search", params={"q": "varroa treatment", "k": 5, "author": author}).json()["hits"]
        return [(h["post_id"], h["author"]) for h in hits]

    by_id = authors("m03")
    assert by_id and {author for _, author in by_id} == {"m03"}
    assert authors("Priya Natarajan") == authors("priya natarajan") == authors("@priya") == by_id
    assert authors("nobody-at-all") == []


def test_ask_filters_are_exactly_the_domain_filters() -> None:
    from app.schemas import FiltersIn
    from retrieval.filters import FILTER_NAMES

    assert tuple(FiltersIn.model_fields) == FILTER_NAMES


@pytest.mark.parametrize(("body", "reason"), [
    (b"not json", "Expecting value at character 0"),
    (b'{"question": "swarm', "Unterminated string starting at character 13"),
])
def test_a_body_that_is_not_json_is_400_with_the_reason(client: TestClient, body: bytes, reason: str) -> None:
    response = client.post("/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": f"the request body is not valid JSON ({reason})"}
