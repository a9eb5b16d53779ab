"""Resolve the principal of an HTTP request.

Two ways in: ``Authorization: Bearer <API token>`` (CLI, automation; no CSRF) or the browser
session cookie (CSRF enforced on unsafe methods). ``X-Sluice-Workspace`` (id or slug) selects the
workspace: a user must be a member of it (else 403), a token only works in its own workspace.
Without the header a user acts in their first workspace. The resolved principal is also bound
to the database session as the actor of every audited change.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from sluice.auth.accounts import find_workspace, membership_of, workspaces_of
from sluice.auth.audit import Actor, AuditContext, bind_audit_context, record_audit
from sluice.auth.browser import SESSION_COOKIE, authenticate_cookie, client_ip
from sluice.auth.permissions import Role
from sluice.auth.principal import Principal
from sluice.auth.tokens import DISPLAY_PREFIX_LENGTH, authenticate_token, touch_last_used
from sluice.core.errors import NotAuthenticated, PermissionDenied
from sluice.core.settings import Settings
from sluice.store.db import Database

WORKSPACE_HEADER = "X-Sluice-Workspace"


def resolve_principal(request: Request, session: Session) -> Principal:
    """The principal acting in this request, or :class:`NotAuthenticated` / :class:`PermissionDenied`."""
    authorization = request.headers.get("Authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("send an API token as 'Authorization: Bearer <token>'")
        principal = _token_principal(request, session, value.strip())
    elif request.cookies.get(SESSION_COOKIE):
        principal = _cookie_principal(request, session)
    else:
        raise NotAuthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
    request.state.principal = principal
    if principal.user_id is None:
        actor = Actor("token", principal.token_id, principal.display_name)
    else:
        actor = Actor("user", principal.user_id, principal.display_name)
    bind_audit_context(
        session, AuditContext(actor=actor, workspace_id=principal.workspace_id, ip=client_ip(request))
    )
    return principal


def _token_principal(request: Request, session: Session, plain: str) -> Principal:
    database: Database = request.app.state.database
    try:
        identity = authenticate_token(session, plain)
    except NotAuthenticated as refused:
        with database.session() as own:
            bind_audit_context(own, AuditContext(actor=Actor("anonymous", None, ""), ip=client_ip(request)))
            record_audit(
                own,
                "auth.token_refused",
                "api_token",
                None,
                {"reason": refused.message, "prefix": plain[:DISPLAY_PREFIX_LENGTH]},
            )
        raise
    token = identity.token
    wanted = request.headers.get(WORKSPACE_HEADER)
    if wanted and find_workspace(session, wanted).id != token.workspace_id:
        raise PermissionDenied("this API token belongs to another workspace")
    with database.session() as own:
        touch_last_used(own, token)
    name = identity.user.email if identity.user else f"token:{token.name}"
    return Principal(
        workspace_id=token.workspace_id,
        role=identity.role,
        user_id=identity.user.id if identity.user else None,
        token_id=token.id,
        display_name=name,
    )


def _cookie_principal(request: Request, session: Session) -> Principal:
    settings: Settings = request.app.state.settings
    identity = authenticate_cookie(session, request, settings)
    user = identity.user
    wanted = request.headers.get(WORKSPACE_HEADER)
    if wanted:
        workspace = find_workspace(session, wanted)
        membership = membership_of(session, user.id, workspace.id)
        if membership is None:
            raise PermissionDenied(f"you are not a member of workspace {wanted!r}")
        workspace_id, role = workspace.id, Role(membership.role)
    else:
        mine = workspaces_of(session, user.id)
        if not mine:
            raise PermissionDenied("you are not a member of any workspace yet; ask an admin to invite you")
        workspace_id, role = mine[0][0].id, mine[0][1]
    return Principal(workspace_id=workspace_id, role=role, user_id=user.id, display_name=user.email)
