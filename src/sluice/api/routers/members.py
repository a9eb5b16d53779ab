"""Members of the current workspace: list, change role, remove.

Nobody grants a role above their own, only owners touch owners, and the last owner stays.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import func, select

from sluice.api.deps import DbSession, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission, Role, role_within
from sluice.auth.principal import Principal
from sluice.core.errors import Conflict, PermissionDenied
from sluice.schemas.auth import MemberOut, MemberUpdate
from sluice.store.scoped import get_scoped
from sluice.store.tables.auth import Membership, User

router = APIRouter(prefix="/members", tags=["members"])
Reader = Annotated[Principal, Depends(require(Permission.WORKSPACE_READ))]
Manager = Annotated[Principal, Depends(require(Permission.MEMBERS_MANAGE))]


def _out(membership: Membership, user: User) -> MemberOut:
    return MemberOut(
        id=membership.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=Role(membership.role),
        created_at=membership.created_at,
    )


@router.get("", response_model=Page[MemberOut])
def list_members(
    session: DbSession, principal: Reader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[MemberOut]:
    """Everyone with a role in this workspace."""
    statement = select(Membership).where(Membership.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, Membership.id, params)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([m.user_id for m in rows])))}
    return Page(items=[_out(m, users[m.user_id]) for m in rows], next_cursor=cursor)


def _check_may_change(
    session: DbSession, principal: Principal, membership: Membership, new: Role | None
) -> None:
    current = Role(membership.role)
    if not role_within(current, principal.role) or (new is not None and not role_within(new, principal.role)):
        raise PermissionDenied("you cannot change a member whose role (old or new) is above yours")
    if current is Role.OWNER and new is not Role.OWNER:
        owners = session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == principal.workspace_id, Membership.role == Role.OWNER.value)
        )
        if (owners or 0) <= 1:
            raise Conflict("a workspace keeps at least one owner: make someone else owner first")


@router.patch("/{member_id}", response_model=MemberOut)
def update_member(member_id: str, body: MemberUpdate, session: DbSession, principal: Manager) -> MemberOut:
    """Change a member's role."""
    membership = get_scoped(session, Membership, member_id, principal.workspace_id, "member")
    _check_may_change(session, principal, membership, body.role)
    membership.role = body.role.value
    session.flush()
    user = session.get(User, membership.user_id)
    assert user is not None  # memberships cascade with their user
    return _out(membership, user)


@router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(member_id: str, session: DbSession, principal: Manager) -> None:
    """Remove a member from this workspace (their account and other workspaces stay)."""
    membership = get_scoped(session, Membership, member_id, principal.workspace_id, "member")
    _check_may_change(session, principal, membership, None)
    session.delete(membership)
