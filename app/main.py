"""The FastAPI application: heavy things load once in the lifespan; errors become JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from app import problems
from app.activity import ActivityLog
from app.auth import KeyRing
from app.deps import declared_query_only, one_value_each, writer
from app.generator import answerer_for
from app.guard import Guard
from app.mcp_server import http_route
from app.routes import admin, ask, ask_stream, content, overview, search
from app.settings import Settings, get_settings
from retrieval.backends import limit_threads
from retrieval.embedding import embedder_for_index
from retrieval.index import IndexDir
from retrieval.library import Library
from retrieval.query_cache import QueryCachedEmbedder

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the process settings)."""
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import torch

        torch.set_num_threads(config.serve_threads)
        limit_threads(config.serve_threads)
        index_dir = IndexDir(config.index_dir, config.backend_config())
        embedder = QueryCachedEmbedder(embedder_for_index(index_dir.root, config.model_path, config.embedder))
        app.state.library = Library(index_dir, embedder, config.search.model_dump(), answerer_for(config.generator))
        app.state.activity = ActivityLog(index_dir.root / "activity.sqlite", config.activity_retention_days)
        log.info("serving %s", app.state.library.snapshot().path)
        async with mcp_server.session_manager.run():
            yield
        app.state.activity.close()

    app = FastAPI(
        title="Townsquare",
        version="0.1.0",
        summary="Search and cited answers over a community's knowledge, with who to ask.",
        lifespan=lifespan,
        # every route: an unknown query parameter is a 422, and so is one sent empty or twice
        dependencies=[Depends(declared_query_only), Depends(one_value_each)],
    )
    app.state.settings = config
    app.state.keyring = KeyRing.for_index(config.api_keys, config.index_dir)
    routers = (search.router, ask.router, ask_stream.router, content.router, admin.router, overview.router)
    for router in routers:
        app.include_router(router, responses=problems.COMMON_RESPONSES)
    mcp_server, mcp_route = http_route(lambda: app.state.library, config)  # MCP tools at /mcp
    app.router.routes.append(mcp_route)
    problems.install(app)
    app.add_middleware(Guard, settings=config)
    routes = [r for router in routers for r in router.routes]
    _keys_optional_for_reads(app, routes)
    app.include_router(_heads_for_reads(routes))
    return app


def _heads_for_reads(routes: list[BaseRoute]) -> APIRouter:
    """A router answering ``HEAD`` on each ``GET`` route of ``routes`` (``HEAD /health`` for
    monitors): FastAPI, unlike Starlette, adds none. Each twin has the GET route's endpoint,
    dependencies and checks and stays out of the OpenAPI schema; the server sends the status
    and headers without the body (uvicorn drops a HEAD response's body)."""
    heads = APIRouter()
    for route in routes:
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            heads.add_api_route(
                route.path, route.endpoint, methods=["HEAD"], response_model=route.response_model,
                status_code=route.status_code, dependencies=route.dependencies, name=route.name,
                include_in_schema=False,
            )
    return heads


def _keys_optional_for_reads(app: FastAPI, routes: list[BaseRoute]) -> None:
    """In the OpenAPI schema, mark the API key optional (``security: [{}, ...]``) on every
    operation that does not depend on :func:`app.deps.writer`: reads work without a key."""
    keyed = {
        (route.path_format, method.lower())
        for route in routes if isinstance(route, APIRoute) and _uses(route.dependant, writer)
        for method in route.methods or ()
    }
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if operation.get("security") and (path, method) not in keyed:
                        operation["security"] = [{}, *operation["security"]]
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _uses(dependant: Dependant, call: Any) -> bool:
    return any(d.call is call or _uses(d, call) for d in dependant.dependencies)
