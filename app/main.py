"""The FastAPI application: heavy things load once in the lifespan; errors become JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.activity import ActivityLog
from app.mcp_server import http_route
from app.routes import admin, ask, content, overview, search
from app.settings import Settings, get_settings
from retrieval.backends import limit_threads
from retrieval.embedding import load_embedder
from retrieval.errors import BadQueryError, IndexStateError, NotFoundError, TownsquareError
from retrieval.index import IndexDir
from retrieval.library import Library

log = logging.getLogger(__name__)

STATUS = {NotFoundError: 404, BadQueryError: 422, IndexStateError: 503}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the process settings)."""
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import torch

        torch.set_num_threads(config.serve_threads)
        limit_threads(config.serve_threads)
        index_dir = IndexDir(config.index_dir, config.backend_config())
        app.state.library = Library(index_dir, load_embedder(config.model_path), config.search.model_dump())
        app.state.activity = ActivityLog(index_dir.root / "activity.sqlite")
        log.info("serving %s", app.state.library.snapshot().path)
        async with mcp_server.session_manager.run():
            yield
        app.state.activity.close()

    app = FastAPI(
        title="Townsquare",
        version="0.1.0",
        summary="Search and cited answers over a community's knowledge, with who to ask.",
        lifespan=lifespan,
    )
    app.state.settings = config
    for router in (search.router, ask.router, content.router, admin.router, overview.router):
        app.include_router(router)
    mcp_server, mcp_route = http_route(lambda: app.state.library, config)  # MCP tools at /mcp
    app.router.routes.append(mcp_route)

    @app.exception_handler(TownsquareError)
    async def townsquare_error(request: Request, error: TownsquareError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
        return JSONResponse(status_code=status, content={"detail": str(error)})

    return app
