"""URLs the API hands to browsers and identity providers: this installation's public base URL and
return paths that cannot become open redirects."""

from __future__ import annotations

from fastapi import Request

from sluice.core.settings import Settings


def public_base_url(request: Request) -> str:
    """``SLUICE_PUBLIC_URL``, else the URL the request reached Sluice at (no trailing slash);
    redirect URIs registered at identity providers and vendors start with it."""
    settings: Settings = request.app.state.settings
    return (settings.public_url or str(request.base_url)).rstrip("/")


def local_path(path: str, default: str = "/") -> str:
    """``path`` when it is a path of this site, else ``default`` (no open redirect)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else default
