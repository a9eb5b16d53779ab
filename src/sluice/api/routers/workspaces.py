"""Workspaces: the current one, the caller's list, creating and renaming."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from sluice.api.deps import DbSession, require
from sluice.auth.accounts import add_member, create_workspace, workspaces_of
from sluice.auth.audit import record_audit
from sluice.auth.permissions import Permission, Role
from sluice.auth.principal import Principal
from sluice.core.errors import InvalidInput
from sluice.schemas.auth import WorkspaceRoleOut
from sluice.store.tables.auth import User
from sluice.store.tables.workspaces import Workspace

router = APIRouter(tags=["workspaces"])
Reader = Annotated[Principal, Depends(require(Permission.WORKSPACE_READ))]
Manager = Annotated[Principal, Depends(require(Permission.WORKSPACE_MANAGE))]


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    name: str
    slug: str
    created_at: datetime


class WorkspaceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")


class WorkspaceUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def _current(session: DbSession, principal: Principal) -> Workspace:
    workspace = session.get(Workspace, principal.workspace_id)
    assert workspace is not None  # resolved moments ago in the same transaction
    return workspace


@router.get("/workspace", response_model=WorkspaceOut)
def current_workspace(session: DbSession, principal: Reader) -> Workspace:
    """The workspace of the acting principal."""
    return _current(session, principal)


@router.patch("/workspace", response_model=WorkspaceOut)
def rename_workspace(body: WorkspaceUpdate, session: DbSession, principal: Manager) -> Workspace:
    """Rename the current workspace."""
    workspace = _current(session, principal)
    before = workspace.name
    workspace.name = body.name
    record_audit(
        session, "update", "workspace", workspace.id, {"name": {"before": before, "after": body.name}}
    )
    return workspace


@router.get("/workspaces", response_model=list[WorkspaceRoleOut])
def my_workspaces(session: DbSession, principal: Reader) -> list[WorkspaceRoleOut]:
    """Every workspace the caller may switch to (with ``X-Sluice-Workspace``), with their role."""
    if principal.user_id is None:
        workspace = _current(session, principal)
        return [
            WorkspaceRoleOut(id=workspace.id, name=workspace.name, slug=workspace.slug, role=principal.role)
        ]
    return [
        WorkspaceRoleOut(id=w.id, name=w.name, slug=w.slug, role=role)
        for w, role in workspaces_of(session, principal.user_id)
    ]


@router.post("/workspaces", response_model=WorkspaceOut, status_code=status.HTTP_201_CREATED)
def new_workspace(body: WorkspaceCreate, session: DbSession, principal: Manager) -> Workspace:
    """A new workspace in the same organization; you become its owner."""
    user = session.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise InvalidInput("workspaces are created by a signed-in user, not a service token")
    slug = body.slug or re.sub(r"[^a-z0-9]+", "-", body.name.lower()).strip("-") or "workspace"
    workspace = create_workspace(session, _current(session, principal).organization_id, body.name, slug)
    add_member(session, user, workspace.id, Role.OWNER)
    record_audit(session, "create", "workspace", workspace.id, {"name": body.name}, workspace_id=workspace.id)
    return workspace
