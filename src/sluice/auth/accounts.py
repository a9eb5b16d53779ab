"""Users, workspaces and memberships: creating them and looking them up."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.auth.credentials import hash_password
from sluice.auth.permissions import Role
from sluice.core.errors import Conflict, InvalidInput, NotFound
from sluice.store.tables.auth import Membership, User
from sluice.store.tables.workspaces import Workspace

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """Emails are compared lower-cased and trimmed; a malformed one is refused."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise InvalidInput(f"email: {email!r} is not an email address")
    return value


def find_user(session: Session, email: str) -> User | None:
    """The user with this email, if any."""
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(session: Session, email: str, *, name: str = "", password: str | None = None) -> User:
    """A new active user; :class:`Conflict` if the email is taken."""
    address = normalize_email(email)
    if find_user(session, address) is not None:
        raise Conflict(f"a user with email {address!r} already exists")
    user = User(email=address, name=name, password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    return user


def add_member(session: Session, user: User, workspace_id: str, role: Role) -> Membership:
    """Give ``user`` ``role`` in the workspace (changing the role if already a member)."""
    membership = membership_of(session, user.id, workspace_id)
    if membership is None:
        membership = Membership(user_id=user.id, workspace_id=workspace_id, role=role.value)
        session.add(membership)
    else:
        membership.role = role.value
    session.flush()
    return membership


def membership_of(session: Session, user_id: str, workspace_id: str) -> Membership | None:
    """The user's membership of a workspace, if any."""
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.workspace_id == workspace_id)
    )


def workspaces_of(session: Session, user_id: str) -> list[tuple[Workspace, Role]]:
    """The user's workspaces with their role, oldest membership first."""
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Membership.id)
    )
    return [(workspace, Role(role)) for workspace, role in rows]


def find_workspace(session: Session, id_or_slug: str) -> Workspace:
    """A workspace by id or slug; :class:`NotFound` if there is none."""
    workspace = session.get(Workspace, id_or_slug) or session.scalar(
        select(Workspace).where(Workspace.slug == id_or_slug).order_by(Workspace.id).limit(1)
    )
    if workspace is None:
        raise NotFound(f"workspace {id_or_slug!r} does not exist")
    return workspace


def create_workspace(session: Session, organization_id: str, name: str, slug: str) -> Workspace:
    """A new workspace in an organization; :class:`Conflict` if the slug is taken there."""
    workspace = Workspace(organization_id=organization_id, name=name, slug=slug)
    session.add(workspace)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"a workspace with slug {slug!r} already exists") from None
    return workspace
