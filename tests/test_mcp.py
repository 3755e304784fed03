"""The MCP server, driven by the official SDK's client over both transports: stdio (a real
``townsquare mcp`` subprocess) and streamable HTTP (``/mcp`` on a real uvicorn
``townsquare serve``). Same tools, same visibility rule as the HTTP API."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from retrieval.index import IndexDir
from retrieval.library import Library
from tests.conftest import API_KEYS, MEMBER_KEY, MENTOR_KEY

pytestmark = pytest.mark.e2e
TOOLS = {"search", "ask", "experts", "get_thread", "get_resource"}
PRIVATE_TERMS = ("quarry lane", "mentor stipend", "mt-00", '"mentors"')
PRIVATE_QUESTION = "What are the terms of the Quarry Lane lease and the mentor stipend?"
BIN = Path(sys.executable).parent
Session = Callable[[ClientSession], Awaitable[Any]]


def leaks(payload: object) -> bool:
    text = json.dumps(payload, default=str).lower()
    return any(term in text for term in PRIVATE_TERMS)


async def call(session: ClientSession, tool: str, **arguments: Any) -> tuple[str, dict[str, Any] | None, bool]:
    result = await session.call_tool(tool, arguments)
    text = "\n".join(c.text for c in result.content if c.type == "text")
    return text, result.structured_content, bool(result.is_error)


async def visibility_checks(session: ClientSession, insider: bool) -> None:
    """What a caller with (``insider``) or without the mentors' groups sees."""
    for tool, args in (("search", {"query": PRIVATE_QUESTION, "k": 50}), ("ask", {"question": PRIVATE_QUESTION}),
                       ("experts", {"question": PRIVATE_QUESTION, "k": 20})):
        text, data, error = await call(session, tool, **args)
        assert not error and data is not None
        if not insider:
            assert not leaks([text, data]), tool
        elif tool == "ask":
            assert "quarry lane" in (text + json.dumps(data)).lower()
    text, data, error = await call(session, "get_thread", id="mt-001")
    assert error is (not insider)
    _, _, error = await call(session, "get_resource", id="resources/mentor-handbook.md")
    assert error is (not insider)


async def public_checks(session: ClientSession) -> None:
    """The five tools exist and answer with titles, links and structured content."""
    listed = (await session.list_tools()).tools
    assert {t.name for t in listed} >= TOOLS
    for tool in listed:  # plain sentences, no docstring markup (``k``, :class:`X`, **bold**)
        assert tool.description and not re.search(r"[`*]|:[a-z]+:", tool.description), tool.description
    text, data, error = await call(session, "ask", question="What sugar syrup ratio should I feed in autumn?")
    assert not error and data and not data["abstained"] and data["citations"]
    for citation in data["citations"]:
        assert citation["title"] in text and citation["url"] in text and f"[{citation['n']}]" in text
    sources = text.split("Sources:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(sources) == len({(c["thread_id"], c["resource_id"]) for c in data["citations"]})
    assert all(e["why"] in text for e in data["experts"]) and "People who can help:" in text
    text, data, _ = await call(session, "search", query="when to treat for varroa", k=3)
    assert data and 1 <= len(data["hits"]) <= 3 and data["hits"][0]["title"] in text
    assert any("### " in h["text"] for h in data["hits"]) and not marked_up(text)  # structured: as written
    text, data, _ = await call(session, "experts", question="queen rearing", k=2)
    assert data and data["experts"] and data["experts"][0]["name"] in text
    assert all(e["why"].startswith("Answered") and e["why"] in text for e in data["experts"])
    text, data, _ = await call(session, "get_thread", id="hh-001")
    assert data and data["id"] == "hh-001" and data["title"] in text and len(data["posts"]) >= 2
    text, data, _ = await call(session, "get_resource", id="resources/varroa-management.md")
    assert data and re.search(r"(?m)^#+ ", data["text"]) and not marked_up(text)
    _, _, error = await call(session, "search", query="varroa", k=0)
    assert error
    text, _, error = await call(session, "search", query="varroa", kk=3)
    assert error and "unknown argument 'kk'" in text and "query, k" in text
    schema = next(t.input_schema for t in (await session.list_tools()).tools if t.name == "experts")
    assert schema["additionalProperties"] is False


def marked_up(text: str) -> bool:
    """Markdown marks a plain-text reader would see: heading marks, bold, link brackets."""
    return bool(re.search(r"(?m)^\s*#+ |#{2,} |\*\*|\]\(", text))


@pytest.mark.unit
def test_plain_text_drops_markdown_marks_and_keeps_every_word() -> None:
    from app.plain import plain_text

    text = plain_text("### Summer\n\n- **Below 2**: fine, see [the guide](https://x.org/g)\n  1. nested\n\n"
                      "`code` <script>x</script> snake_case_name\n\n    kept  as written")
    assert text == ("Summer\n\n- Below 2: fine, see the guide (https://x.org/g)\n  1. nested\n\n"
                    "code <script>x</script> snake_case_name\n\nkept  as written")


@pytest.mark.unit
def test_plain_text_shows_links_of_every_scheme_like_http_links() -> None:
    """A link markdown-it-py would not make for HTML (scripting scheme, file, relative) is
    still text then URL, never left as raw ``[text](url)``."""
    from app.plain import plain_text

    text = plain_text("See [grams](javascript:alert(3)), [notes](file:///srv/n.txt), [faq](/t/faq) "
                      "and [the guide](https://x.org/g); ![hive](data:image/png;base64,AA) <vbscript:x>")
    assert text == ("See grams (javascript:alert(3)), notes (file:///srv/n.txt), faq (/t/faq) "
                    "and the guide (https://x.org/g); hive vbscript:x")


@pytest.mark.integration
def test_ask_lists_each_cited_source_once_with_all_its_markers(library: Library) -> None:
    from app.mcp_tools import Tools

    reply = Tools(lambda: library).ask("How do I treat varroa in winter?", ())
    cited = [c["resource_id"] or c["thread_id"] for c in reply.data["citations"]]
    assert len(set(cited)) < len(cited), "the question no longer cites one source twice: pick another"
    sources = reply.text.split("Sources:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    order = list(dict.fromkeys(cited))  # first cited first
    assert len(sources) == len(order)
    for line, doc_id in zip(sources, order, strict=True):
        numbers = [c["n"] for c in reply.data["citations"] if doc_id in (c["resource_id"], c["thread_id"])]
        assert line.startswith("".join(f"[{n}]" for n in numbers) + " "), line


def run_stdio(index_root: Path, key: str | None, check: Session) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", TOWNSQUARE_API_KEYS=json.dumps(API_KEYS))
    if key:
        env["TOWNSQUARE_API_KEY"] = key
    params = StdioServerParameters(command=str(BIN / "townsquare"), args=["mcp", "--index", str(index_root)], env=env)

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await check(session)

    asyncio.run(main())


def run_http(url: str, key: str | None, check: Session) -> None:
    async def main() -> None:
        client = create_mcp_http_client(headers={"X-API-Key": key} if key else None)
        async with client, streamable_http_client(f"{url}/mcp", http_client=client) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            await check(session)

    asyncio.run(main())


@pytest.fixture(scope="module")
def stdio_index(sample_index: IndexDir, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mcp") / "index"
    shutil.copytree(sample_index.root, root)
    return root


def test_stdio_tools_answer_and_keep_private_content_private(stdio_index: Path) -> None:
    async def as_public(session: ClientSession) -> None:
        await public_checks(session)
        await visibility_checks(session, insider=False)

    run_stdio(stdio_index, None, as_public)  # a member key is checked over HTTP: one process per key is slow
    run_stdio(stdio_index, MENTOR_KEY, lambda s: visibility_checks(s, insider=True))


def test_stdio_refuses_an_unknown_key(stdio_index: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(HF_HUB_OFFLINE="1", TOWNSQUARE_API_KEYS=json.dumps(API_KEYS))
    import subprocess

    done = subprocess.run([str(BIN / "townsquare"), "mcp", "--index", str(stdio_index), "--api-key", "nobody"],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "unknown API key" in done.stderr


def test_the_readme_mcp_example_works_as_written(stdio_index: Path, tmp_path: Path) -> None:
    """The README's key line runs verbatim (in a folder laid out like the repository: .venv,
    var/sample-index) and the key it makes lets the stdio server show the mentors' threads."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## MCP", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    key_line = next(line for line in block.splitlines() if line.startswith("KEY="))
    assert any(line.startswith("TOWNSQUARE_API_KEY=$KEY ") for line in block.splitlines())
    (tmp_path / "var").mkdir()
    (tmp_path / ".venv").symlink_to(BIN.parent)
    (tmp_path / "var" / "sample-index").symlink_to(stdio_index)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    import subprocess

    done = subprocess.run(["bash", "-c", f'set -e; {key_line}; printf %s "$KEY"'], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout, done.stderr
    run_stdio(stdio_index, done.stdout, lambda s: visibility_checks(s, insider=True))


def test_http_tools_answer_and_keep_private_content_private(api_server: str) -> None:
    async def as_public(session: ClientSession) -> None:
        await public_checks(session)
        await visibility_checks(session, insider=False)

    run_http(api_server, None, as_public)
    run_http(api_server, MEMBER_KEY, lambda s: visibility_checks(s, insider=False))
    run_http(api_server, MENTOR_KEY, lambda s: visibility_checks(s, insider=True))


def test_http_refuses_an_unknown_key(api_server: str) -> None:
    response = httpx.post(f"{api_server}/mcp", headers={"X-API-Key": "nobody", "Accept": "application/json"},
                          json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401


def test_the_caller_is_not_suggested_to_themself(stdio_index: Path, library: Any) -> None:
    """A key named after a member id (as the README advises) asks as that member: the experts
    and ask tools leave them out, as the HTTP API does."""
    question = "How do I treat varroa in winter?"
    top = library.experts(question, k=5)[0].member_id
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", TOWNSQUARE_API_KEY="asker-key-0001",
               TOWNSQUARE_API_KEYS=json.dumps({"asker-key-0001": {"groups": ["members"], "name": top}}))
    params = StdioServerParameters(command=str(BIN / "townsquare"), args=["mcp", "--index", str(stdio_index)], env=env)

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for tool, arguments in (("experts", {"question": question, "k": 5}), ("ask", {"question": question})):
                _, data, error = await call(session, tool, **arguments)
                assert not error and data is not None
                suggested = [e["member_id"] for e in data["experts"]]
                assert suggested and top not in suggested, (tool, suggested)

    asyncio.run(main())


@pytest.mark.integration
def test_tools_take_questions_as_long_as_the_http_api_and_no_longer(library: Library) -> None:
    from app.mcp_tools import Tools
    from app.schemas import MAX_QUESTION_CHARS

    tools = Tools(lambda: library)
    pasted = ("varroa mites on the drone brood " * 400)[:MAX_QUESTION_CHARS]
    assert tools.search(pasted, 3, ()).data["hits"]  # a whole pasted log is fine
    for call in (lambda q: tools.search(q, 3, ()), lambda q: tools.ask(q, ()), lambda q: tools.experts(q, 5, ())):
        with pytest.raises(ValueError, match="10,001 characters; at most 10,000"):
            call(pasted + "x")


@pytest.mark.integration
def test_a_resource_without_a_url_is_titled_without_a_dangling_dash(library: Library) -> None:
    from app.mcp_tools import Tools, titled

    assert titled("Glossary", "") == "Glossary" and titled("Glossary", "https://x.org/g") == "Glossary — https://x.org/g"
    reply = Tools(lambda: library).get_resource("resources/glossary.txt", ())
    assert reply.text.splitlines()[0] == reply.data["title"], reply.text[:120]
