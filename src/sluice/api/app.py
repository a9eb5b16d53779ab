"""The FastAPI application: routers under ``/api/v1``, problem responses, request ids, web app."""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response

from sluice import __version__
from sluice.api import routers
from sluice.api.problems import install_problem_handlers
from sluice.api.web import WEB_DIST, SinglePageApp
from sluice.core.ids import new_id
from sluice.core.logging import get_logger, request_id_var
from sluice.core.settings import Settings
from sluice.store.db import Database

API_PREFIX = "/api/v1"
log = get_logger("sluice.api")
# Sent with every response (docs/security.md): no sniffing, no framing, no referrer leaks.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
}


def discover_routers() -> list[APIRouter]:
    """Every ``router`` defined in a module of :mod:`sluice.api.routers`, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(routers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routers.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """Build the application for ``settings`` (the database must already be migrated)."""
    app = FastAPI(
        title="Sluice",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database.from_settings(settings)
    install_problem_handlers(app)
    for router in discover_routers():
        app.include_router(router, prefix=API_PREFIX)
    app.middleware("http")(_request_context)
    if (WEB_DIST / "index.html").exists():
        app.mount("/", SinglePageApp(WEB_DIST), name="web")
    return app


async def _request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    request_id = (request.headers.get("X-Request-ID") or new_id())[:64]
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        request_id_var.reset(token)
    response.headers["X-Request-ID"] = request_id
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.scheme == "https":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    log.info(
        "request",
        request_id=request_id,
        method=request.method,
        path=request.url.path,
        status=response.status_code,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return response
