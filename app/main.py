"""The FastAPI application: heavy things load once in the lifespan; errors become JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import problems
from app.activity import ActivityLog
from app.guard import Guard
from app.routes import admin, ask, content, overview, search
from app.settings import Settings, get_settings
from retrieval.embedding import load_embedder
from retrieval.index import IndexDir
from retrieval.library import Library

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the process settings)."""
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import faiss
        import torch

        torch.set_num_threads(config.serve_threads)
        faiss.omp_set_num_threads(config.serve_threads)
        index_dir = IndexDir(config.index_dir)
        app.state.library = Library(index_dir, load_embedder(config.model_path), config.search.model_dump())
        app.state.activity = ActivityLog(index_dir.root / "activity.sqlite")
        log.info("serving %s", app.state.library.snapshot().path)
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
        app.include_router(router, responses=problems.COMMON_RESPONSES)
    problems.install(app)
    app.add_middleware(Guard, settings=config)
    return app
