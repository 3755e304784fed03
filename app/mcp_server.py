"""The MCP server (Model Context Protocol, official ``mcp`` SDK): the knowledge base's tools
for AI tools and agents, over stdio (``townsquare mcp``) or streamable HTTP (``/mcp`` on the
API).

Who the caller is decides what they see, exactly as on the HTTP API: the API key maps to
groups through :func:`app.deps.groups_for_key` (no key: public content only). Over stdio the
key is fixed when the server starts (``--api-key`` or ``TOWNSQUARE_API_KEY``); over HTTP each
request's ``X-API-Key`` header decides, and an unknown key is refused with 401 before any
tool runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, Tool
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.deps import groups_for_key, name_for_key
from app.mcp_tools import MAX_K, ToolReply, Tools
from app.settings import Settings
from retrieval.errors import TownsquareError
from retrieval.filters import unknown_names_message
from retrieval.library import Library

GroupsOf = Callable[[Context], tuple[str, ...]]
NameOf = Callable[[Context], str | None]
"""Who calls (the key's name, a member id when keys are named after members; None: nobody known)."""
MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Search and cited answers over a community's discussions and shared resources. Use `ask` for a "
    "cited answer, `search` for matching passages, `experts` for who to ask, and `get_thread` / "
    "`get_resource` to read a whole source (ids come from the other tools' results)."
)

TOOL_DESCRIPTIONS = {
    "search": f"Search the community's discussions and shared resources. Returns up to k passages matching "
              f"the query (one per thread or resource; k from 1 to {MAX_K}, default 10), best first, each with "
              f"its title, link and a short excerpt.",
    "ask": "Answer a question from what the community wrote: sentences, each followed by the number of "
           "its source, then the sources with their links and the members who can help. When the "
           "community has not answered it, says so and names the closest discussions and whom to ask.",
    "experts": f"Find the members who know most about a question or topic: up to k members (k from 1 to "
               f"{MAX_K}, default 5), each with why they are suggested and the threads where they helped.",
    "get_thread": "Read a whole thread, every post with its author and date, by its id (ids come with the "
                  "results of search, ask and experts).",
    "get_resource": "Read a shared resource (a guide, notes or a document) with its whole text, by its id "
                    "(ids come with the results of search and ask).",
}
"""What ``tools/list`` says of each tool: plain sentences, since hosts show them as they are to
people and models (the SDK would otherwise send the functions' docstrings, markup and all)."""


def _result(make: Callable[[], ToolReply]) -> CallToolResult:
    """The reply as text + structured content; a domain error becomes an error result."""
    try:
        reply = make()
    except (TownsquareError, ValueError) as error:
        return CallToolResult(content=[TextContent(type="text", text=str(error))], is_error=True)
    return CallToolResult(content=[TextContent(type="text", text=reply.text)], structured_content=reply.data)


class StrictServer(MCPServer):
    """An :class:`MCPServer` whose tools refuse arguments they do not take (the SDK's default
    drops them silently, so a misspelt ``kk=3`` would answer as if ``k`` were not given): the
    error names the argument and lists the tool's own. Tool schemas say so too
    (``additionalProperties: false``)."""

    async def list_tools(self) -> list[Tool]:
        """The tools, each input schema closed to other properties."""
        tools = await super().list_tools()
        return [t.model_copy(update={"input_schema": {**t.input_schema, "additionalProperties": False}})
                for t in tools]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Call tool ``name``; ToolError naming any argument it does not take."""
        schema = next((t.input_schema for t in await super().list_tools() if t.name == name), None)
        if schema is not None:
            known = list(schema.get("properties", {}))
            if message := unknown_names_message(arguments, known, "argument"):
                raise ToolError(f"{name}: {message}")
        return await super().call_tool(name, arguments, context)


def fixed_groups(groups: tuple[str, ...]) -> GroupsOf:
    """Every call is made with ``groups`` (stdio: one caller per process)."""
    return lambda ctx: groups


def fixed_name(name: str | None) -> NameOf:
    """Every call is made by ``name`` (stdio: the key given when the server started)."""
    return lambda ctx: name


def header_name(settings: Settings) -> NameOf:
    """The name of the ``X-API-Key`` header's key of the HTTP request carrying the call."""
    return lambda ctx: name_for_key(settings, (ctx.headers or {}).get("x-api-key"))


def header_groups(settings: Settings) -> GroupsOf:
    """Groups of the ``X-API-Key`` header of the HTTP request carrying the call."""

    def groups_of(ctx: Context) -> tuple[str, ...]:
        headers = ctx.headers or {}
        groups = groups_for_key(settings, headers.get("x-api-key"))
        if groups is None:  # the guard refuses these first; never fall back to more access
            raise PermissionError("unknown API key")
        return groups

    return groups_of


def build_server(library: Callable[[], Library], groups_of: GroupsOf, name_of: NameOf | None = None,
                 **options: Any) -> MCPServer:
    """An MCP server with the five tools over ``library()``, each call made as
    ``groups_of(ctx)`` by ``name_of(ctx)`` (never suggested to themself as an expert);
    ``options`` go to :class:`MCPServer`."""
    name_of = name_of or fixed_name(None)
    server: MCPServer = StrictServer("townsquare", instructions=INSTRUCTIONS, version="0.1.0", **options)
    tools = Tools(library)

    @server.tool(description=TOOL_DESCRIPTIONS["search"])
    def search(query: str, ctx: Context, k: int = 10) -> CallToolResult:
        return _result(lambda: tools.search(query, k, groups_of(ctx)))

    @server.tool(description=TOOL_DESCRIPTIONS["ask"])
    def ask(question: str, ctx: Context) -> CallToolResult:
        return _result(lambda: tools.ask(question, groups_of(ctx), name_of(ctx)))

    @server.tool(description=TOOL_DESCRIPTIONS["experts"])
    def experts(question: str, ctx: Context, k: int = 5) -> CallToolResult:
        return _result(lambda: tools.experts(question, k, groups_of(ctx), name_of(ctx)))

    @server.tool(description=TOOL_DESCRIPTIONS["get_thread"])
    def get_thread(id: str, ctx: Context) -> CallToolResult:  # noqa: A002
        return _result(lambda: tools.get_thread(id, groups_of(ctx)))

    @server.tool(description=TOOL_DESCRIPTIONS["get_resource"])
    def get_resource(id: str, ctx: Context) -> CallToolResult:  # noqa: A002
        return _result(lambda: tools.get_resource(id, groups_of(ctx)))

    return server


class KeyGuard:
    """ASGI wrapper refusing requests whose ``X-API-Key`` no one issued (401, like the API)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if groups_for_key(self.settings, headers.get("x-api-key")) is None:
                await JSONResponse({"detail": "unknown API key"}, status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_route(library: Callable[[], Library], settings: Settings) -> tuple[MCPServer, Route]:
    """The server and the API's ``/mcp`` route (stateless streamable HTTP, JSON replies,
    unknown keys refused). The caller runs ``server.session_manager.run()`` in its lifespan."""
    server = build_server(library, header_groups(settings), header_name(settings))
    starlette = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, json_response=True)
    endpoint = next(r.endpoint for r in starlette.routes if isinstance(r, Route) and r.path == MCP_PATH)
    return server, Route(MCP_PATH, endpoint=KeyGuard(endpoint, settings))
