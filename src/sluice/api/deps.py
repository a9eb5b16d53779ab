"""FastAPI dependencies: database session, acting principal, permission checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.orm import Session

from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.auth.resolve import resolve_principal
from sluice.core.errors import PermissionDenied
from sluice.store.db import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error.

    Used with ``scope="function"``: the commit happens before the response is sent, so a client
    that got a 2xx reads its own write on the next request, and a failing commit is an error
    response, never a success whose data was lost.
    """
    with get_database(request).session() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def require(permission: Permission) -> Callable[..., Principal]:
    """Dependency that resolves the principal and checks ``permission``.

    Every route declares exactly one such dependency; a test walks the route table and fails
    on a route without one (public routes are listed explicitly in :data:`PUBLIC_ROUTES`).
    """

    def dependency(request: Request, session: DbSession) -> Principal:
        principal = resolve_principal(request, session)
        if not principal.can(permission):
            raise PermissionDenied(f"your role ({principal.role}) does not allow {permission}")
        request.state.principal = principal
        return principal

    dependency.required_permission = permission  # type: ignore[attr-defined]
    return dependency


def permission_of(dependency: object) -> Permission | None:
    """The permission a dependency created by :func:`require` checks, if any."""
    return getattr(dependency, "required_permission", None)


def _declared(dependant: Dependant) -> set[Permission]:
    found = {p for p in (permission_of(dependant.call),) if p is not None}
    for sub in dependant.dependencies:
        found |= _declared(sub)
    return found


def route_permissions(app: FastAPI) -> list[tuple[str, str, set[Permission]]]:
    """(method, full path, declared permissions) of every API route, routers included.

    FastAPI keeps included routers as lazy branches, so ``app.routes`` alone does not list the
    routes of ``/api/v1``; this walks them the way FastAPI itself does.
    """
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path:
            for method in sorted((context.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, context.path, _declared(context.dependant)))
    return found


PUBLIC_ROUTES: set[tuple[str, str]] = {
    ("GET", "/api/v1/health"),
    # Ways to become authenticated (sluice.api.routers.auth, .sso, .invitations).
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/demo-login"),
    ("GET", "/api/v1/auth/setup"),
    ("POST", "/api/v1/auth/setup"),
    ("GET", "/api/v1/auth/sso/start"),
    ("GET", "/api/v1/auth/sso/oidc/callback"),
    ("POST", "/api/v1/auth/sso/saml/acs"),
    ("GET", "/api/v1/auth/sso/saml/metadata"),
    ("POST", "/api/v1/invitations/accept"),
}
