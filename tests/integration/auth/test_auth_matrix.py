"""Authorization matrix: every route by every role, generated from the route table.

A new route is covered the moment it is mounted: it is called as each role, and the answer must
be a permission refusal exactly when the role lacks the route's declared permission.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from sluice.api.deps import PUBLIC_ROUTES, route_permissions
from sluice.auth.permissions import Permission, Role, role_allows

PLACEHOLDER_ID = "01h00000000000000000000000"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def protected_routes(app: object) -> list[tuple[str, str, Permission]]:
    """(method, path, permission) of every non-public API route."""
    return [
        (method, path, next(iter(permissions)))
        for method, path, permissions in route_permissions(app)  # type: ignore[arg-type]
        if (method, path) not in PUBLIC_ROUTES
    ]


def _is_permission_refusal(response: object) -> bool:
    if getattr(response, "status_code", None) != 403:
        return False
    body = response.json()  # type: ignore[attr-defined]
    return body.get("code") == "permission_denied" and "does not allow" in body.get("detail", "")


@pytest.mark.parametrize("role", list(Role))
def test_every_route_allows_exactly_the_roles_with_its_permission(
    role: Role, client_as: Callable[..., TestClient]
) -> None:
    actor = client_as(role)
    routes = protected_routes(actor.app)
    assert len(routes) > 20
    wrong = []
    for method, path, permission in routes:
        url = re.sub(r"\{[^}]+\}", PLACEHOLDER_ID, path)
        response = actor.request(method, url, json={} if method in UNSAFE else None)
        assert response.status_code < 500, f"{method} {path} as {role}: {response.text}"
        refused = _is_permission_refusal(response)
        if refused == role_allows(role, permission):
            verdict = "refused" if refused else f"allowed ({response.status_code})"
            wrong.append(f"{method} {path} needs {permission}: {role} was {verdict}")
    assert wrong == []


def test_role_ladder_is_cumulative() -> None:
    ladder = [Role.VIEWER, Role.OPERATOR, Role.EDITOR, Role.ADMIN, Role.OWNER]
    for weaker, stronger in itertools.pairwise(ladder):
        for permission in Permission:
            if role_allows(weaker, permission):
                assert role_allows(stronger, permission), f"{stronger} lacks {permission} that {weaker} has"


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (Role.VIEWER, [Permission.SOURCES_READ, Permission.TOKENS_PERSONAL], [Permission.ACTIVATIONS_RUN]),
        (Role.OPERATOR, [Permission.ACTIVATIONS_RUN], [Permission.SEGMENTS_WRITE, Permission.AUDIT_READ]),
        (Role.EDITOR, [Permission.SEGMENTS_WRITE, Permission.MODELS_WRITE], [Permission.SOURCES_WRITE]),
        (Role.ADMIN, [Permission.SOURCES_WRITE, Permission.MEMBERS_MANAGE], [Permission.WORKSPACE_MANAGE]),
        (Role.OWNER, list(Permission), []),
    ],
)
def test_roles_grant_what_their_names_promise(
    role: Role, allowed: list[Permission], denied: list[Permission]
) -> None:
    assert all(role_allows(role, p) for p in allowed)
    assert not any(role_allows(role, p) for p in denied)
