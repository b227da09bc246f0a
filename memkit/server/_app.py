"""The FastAPI application: one server, many projects, every route behind a key."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from memkit import Memory, __version__
from memkit.config import MemoryConfig
from memkit.server import (
    _dashboard,
    _routes_memkit,
    _routes_platform,
    _routes_system,
    _webhooks,
)
from memkit.server._auth import ProjectDep
from memkit.server._body_limit import BodyLimit
from memkit.server._errors import install_error_handlers
from memkit.server._keys import KeyStore
from memkit.server._projects import ProjectMemories
from memkit.server._settings import ServerSettings

__all__ = ["create_app", "create_app_from_env"]


def create_app(
    settings: ServerSettings | None = None,
    *,
    memory_factory: Callable[[MemoryConfig], Memory] | None = None,
) -> FastAPI:
    """The server over ``settings`` (default: embedded projects under ~/.memkit/server)."""
    settings = settings or ServerSettings()
    settings.home.mkdir(parents=True, exist_ok=True)
    keys = KeyStore(settings.keys_url())
    projects = ProjectMemories(settings, memory_factory)
    events = _webhooks.WebhookDispatcher(keys.engine, **settings.webhooks.model_dump())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            events.close()
            projects.close()
            keys.close()

    app = FastAPI(
        title="memkit",
        version=__version__,
        description="Long-term memory for AI agents: the hosted platform's REST API over "
        "memkit stores, one per project. Every route needs `Authorization: Token <key>`.",
        lifespan=lifespan,
        # The document is behind the key like every route; no browsable docs pages, which
        # could not send one.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.projects = projects
    app.state.events = events
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    worker = str(os.getpid())

    @app.middleware("http")
    async def _worker_header(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Which worker process answered: operators and the scale-out test read it.
        response = await call_next(request)
        response.headers["X-Memkit-Worker"] = worker
        return response

    for module in (_routes_system, _routes_platform, _routes_memkit, _webhooks, _dashboard):
        app.include_router(module.router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document(project: ProjectDep) -> dict[str, Any]:
        return app.openapi()

    return app


def create_app_from_env() -> FastAPI:
    """uvicorn's factory in each worker process: settings come from the environment."""
    return create_app(ServerSettings.from_env())
