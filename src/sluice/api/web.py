"""Serving the built web app (``web/dist``): static files, and ``index.html`` for client-side routes."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


class SinglePageApp(StaticFiles):
    """Static files of the web app; a path that is no file gets ``index.html`` (the app routes it).

    Paths under ``api/`` never fall back, so an unknown API route stays a problem+json 404.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            if exc.status_code != 404 or not _is_client_route(path):
                raise
            return await super().get_response("index.html", scope)
        if response.status_code == 404 and _is_client_route(path):
            return await super().get_response("index.html", scope)
        return response


def _is_client_route(path: str) -> bool:
    first = path.strip("/").split("/", 1)[0]
    return first != "api" and "." not in path.rsplit("/", 1)[-1]
