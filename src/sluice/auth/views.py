"""What the API tells a principal about themselves (shared by sign-in, setup, SSO and ``/auth/me``)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from sluice.auth.accounts import workspaces_of
from sluice.auth.principal import Principal
from sluice.core.errors import PermissionDenied
from sluice.schemas.auth import MeOut, UserOut, WorkspaceRoleOut
from sluice.store.tables.auth import User
from sluice.store.tables.workspaces import Workspace


def me_for_user(
    session: Session, user: User, by: Literal["session", "token"], workspace_id: str | None = None
) -> MeOut:
    """The user, their workspaces with roles, and the current workspace (given, else the first)."""
    mine = [
        WorkspaceRoleOut(id=w.id, name=w.name, slug=w.slug, role=role)
        for w, role in workspaces_of(session, user.id)
    ]
    if not mine:
        raise PermissionDenied("you are not a member of any workspace yet; ask an admin to invite you")
    current = next((w for w in mine if w.id == workspace_id), mine[0])
    return MeOut(
        user=UserOut.model_validate(user),
        workspaces=mine,
        current_workspace=current,
        role=current.role,
        authenticated_by=by,
    )


def me_for_principal(session: Session, principal: Principal) -> MeOut:
    """``/auth/me`` for whoever is calling (a user by session or token, or a service token)."""
    by: Literal["session", "token"] = "token" if principal.token_id else "session"
    if principal.user_id is not None:
        user = session.get(User, principal.user_id)
        if user is not None:
            me = me_for_user(session, user, by, principal.workspace_id)
            current = me.current_workspace.model_copy(update={"role": principal.role})
            return me.model_copy(update={"current_workspace": current, "role": principal.role})
    workspace = session.get(Workspace, principal.workspace_id)
    assert workspace is not None  # resolved moments ago in the same transaction
    only = WorkspaceRoleOut(id=workspace.id, name=workspace.name, slug=workspace.slug, role=principal.role)
    return MeOut(
        user=None, workspaces=[only], current_workspace=only, role=principal.role, authenticated_by=by
    )
