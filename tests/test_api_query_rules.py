"""One rule for every query parameter of every route, on a real ``townsquare serve``: a value
sent empty or a parameter sent twice is a 422 naming it; HEAD answers wherever GET does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient

from app.deps import one_value_each
from tests.conftest import MENTOR_KEY

pytestmark = pytest.mark.e2e
MENTORS = {"X-API-Key": MENTOR_KEY}

EVERY_PARAMETER = [  # (path, the other parameters it needs, the parameter sent empty)
    *[("/search", {"q": "varroa"}, name)
      for name in ("k", "channel", "source", "author", "tag", "since", "until", "kind", "collapse")],
    ("/search", {}, "q"),
    *[("/experts", {"q": "varroa"}, name) for name in ("k", "channel", "tag")],
    ("/threads/hh-001/related", {}, "k"),
    ("/admin/gaps", {}, "days"),
    ("/admin/gaps", {}, "max_confidence"),
]


@pytest.fixture(scope="module")
def client(api_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server, headers=MENTORS, timeout=60) as http:
        yield http


def _named(response: httpx.Response, name: str) -> str:
    """The message of the one 422 error, which must sit at ``query.<name>``."""
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", name]
    return str(error["msg"])


@pytest.mark.parametrize(("path", "others", "name"), EVERY_PARAMETER)
def test_an_empty_value_is_a_422_naming_the_parameter(
    client: httpx.Client, path: str, others: dict[str, str], name: str,
) -> None:
    message = _named(client.get(path, params={**others, name: ""}), name)
    assert message == f"{name} is empty: leave the parameter out, or give it a value"


def test_a_blank_question_is_still_answered_not_refused(client: httpx.Client) -> None:
    assert client.get("/search", params={"q": " "}).json() == {"hits": []}  # empty is refused, blank is not


@pytest.mark.parametrize(("path", "query", "name"), [
    ("/search", "q=varroa&q=swarm", "q"),
    ("/search", "q=varroa&k=2&k=3", "k"),
    ("/search", "q=varroa&channel=a&channel=a", "channel"),  # even the same value twice
    ("/experts", "q=varroa&tag=x&tag=y", "tag"),
    ("/admin/gaps", "days=3&days=4", "days"),
])
def test_a_parameter_given_twice_is_a_422_naming_it(client: httpx.Client, path: str, query: str, name: str) -> None:
    assert _named(client.get(f"{path}?{query}"), name) == f"{name} was given 2 times: give it once"


def test_the_schema_says_query_strings_are_never_empty(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    strings = [
        (path, p["name"], option)
        for path, operations in schema["paths"].items() for operation in operations.values()
        for p in operation.get("parameters", []) if p["in"] == "query"
        for option in p["schema"].get("anyOf", [p["schema"]]) if option.get("type") == "string"
    ]
    assert {(path, name) for path, name, _ in strings} >= {("/search", "q"), ("/search", "since"), ("/experts", "tag")}
    empty_allowed = [(path, name) for path, name, option in strings
                     if option.get("minLength", 0) < 1 and "" in option.get("enum", [""])]
    assert empty_allowed == []


def test_head_answers_wherever_get_does_without_a_body(api_server: str) -> None:
    with httpx.Client(base_url=api_server, timeout=60) as http:
        health = http.head("/health")
        assert health.status_code == 200 and health.content == b""
        assert int(health.headers["content-length"]) == len(http.get("/health").content)
        assert http.head("/search", params={"q": "varroa", "k": 2}).status_code == 200
        assert http.head("/stats").status_code == 200
        assert http.head("/threads/no-such-thread").status_code == 404  # the GET route's own checks
        assert http.head("/search", params={"q": "varroa", "k": ""}).status_code == 422
        refused = http.head("/ask")  # POST only
        assert refused.status_code == 405 and refused.headers["allow"] == "POST"
        schema = http.get("/openapi.json").json()
    assert not [path for path, operations in schema["paths"].items() if "head" in operations]


def test_a_parameter_declared_as_a_list_may_repeat() -> None:
    """The rule lets a list parameter repeat (no route of ours has one yet): a one-route app
    with the real dependency."""
    app = FastAPI(dependencies=[Depends(one_value_each)])

    @app.get("/echo")
    def echo(tag: list[str] | None = Query(None), k: int = 1) -> dict[str, object]:  # noqa: B008
        return {"tag": tag, "k": k}

    with TestClient(app) as http:
        assert http.get("/echo?tag=a&tag=b&k=2").json() == {"tag": ["a", "b"], "k": 2}
        assert http.get("/echo?tag=a&k=2&k=3").status_code == 422
        assert http.get("/echo?tag=a&tag=").status_code == 422


@pytest.mark.parametrize(("name", "value"), [("since", " "), ("until", "  "), ("until", "\t")])
def test_a_blank_date_is_a_422_naming_it_not_no_filter(client: httpx.Client, name: str, value: str) -> None:
    message = _named(client.get("/search", params={"q": "varroa", "k": 3, name: value}), name)
    assert message.startswith(f"{name} is blank: give an ISO 8601 date")


BODY_FILTERS = [  # (path, the body without filters, a filter name, a value that must be refused)
    *[("/ask", {"question": "varroa?"}, name, value)
      for name in ("channel", "source", "author", "tag", "since", "until") for value in ("", " ")
      if value == "" or name in ("since", "until")],
    ("/experts", {"question": "varroa?"}, "channel", ""),
    ("/experts", {"question": "varroa?"}, "tag", ""),
]


@pytest.mark.parametrize(("path", "body", "name", "value"), BODY_FILTERS)
def test_an_empty_or_blank_filter_in_a_body_is_a_422_naming_it(
    client: httpx.Client, path: str, body: dict[str, object], name: str, value: str,
) -> None:
    response = client.post(path, json={**body, "filters": {name: value}})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "filters", name]


def test_a_blank_channel_in_a_body_matches_nothing_as_in_a_query(client: httpx.Client) -> None:
    """Blank is a value (no channel is called " "), as ``channel=%20`` in a query."""
    assert client.get("/search", params={"q": "varroa", "channel": " "}).json() == {"hits": []}
    assert client.post("/experts", json={"question": "varroa?", "filters": {"channel": " "}}).json() == {"experts": []}


@pytest.mark.parametrize("path", ["/ask", "/experts"])
def test_a_body_sent_as_a_form_says_to_send_json(client: httpx.Client, path: str) -> None:
    sent = client.post(path, content=b'{"question": "varroa?"}',  # what `curl -d` sends
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert sent.status_code == 422, sent.text
    (error,) = sent.json()["detail"]
    assert error["loc"] == ["body"]
    assert "must be JSON, sent with 'Content-Type: application/json'" in error["msg"]
    assert "application/x-www-form-urlencoded" in error["msg"]
    untyped = client.post(path, content=b'{"question": "varroa?"}')  # no type is not read as JSON either
    assert untyped.status_code == 422 and "(the type sent was none)" in untyped.json()["detail"][0]["msg"]
    typed = client.post(path, content=b'{"question": "varroa?"}', headers={"Content-Type": "application/json"})
    assert typed.status_code == 200, typed.text
    listed = client.post(path, json=["varroa?"])  # JSON, but not an object: pydantic's own message
    assert listed.status_code == 422 and "must be JSON" not in listed.text
