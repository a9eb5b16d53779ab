"""Invitations into the current workspace, and accepting one (which signs the person in).

The invitation token is returned once (with an accept link) for the admin to pass on; only its
digest is stored. Accepting creates the account if the email has none yet.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy import select

from sluice.api.deps import DbSession, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.accounts import add_member, create_user, find_user, membership_of, normalize_email
from sluice.auth.audit import Actor, AuditContext, bind_audit_context
from sluice.auth.browser import client_ip, start_session
from sluice.auth.credentials import digest, new_secret
from sluice.auth.permissions import Permission, Role, role_within
from sluice.auth.principal import Principal
from sluice.auth.views import me_for_user
from sluice.core.errors import InvalidInput, NotAuthenticated, PermissionDenied
from sluice.core.settings import Settings
from sluice.schemas.auth import InvitationAccept, InvitationCreate, InvitationCreated, InvitationOut, MeOut
from sluice.store.scoped import get_scoped
from sluice.store.tables.auth import Invitation

router = APIRouter(prefix="/invitations", tags=["invitations"])
Manager = Annotated[Principal, Depends(require(Permission.MEMBERS_MANAGE))]
INVITATION_DAYS = 7


@router.get("", response_model=Page[InvitationOut])
def list_invitations(
    session: DbSession, principal: Manager, params: Annotated[PageParams, Depends(page_params)]
) -> Page[InvitationOut]:
    """Invitations of this workspace, pending or not."""
    statement = select(Invitation).where(Invitation.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, Invitation.id, params)
    return Page(items=[InvitationOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("", response_model=InvitationCreated, status_code=status.HTTP_201_CREATED)
def invite(
    body: InvitationCreate, request: Request, session: DbSession, principal: Manager
) -> InvitationCreated:
    """Invite an email address with a role (not above yours). The token is shown only now."""
    if not role_within(body.role, principal.role):
        raise PermissionDenied(f"you cannot invite with a role ({body.role}) above yours ({principal.role})")
    plain = new_secret("slu_inv_")
    invitation = Invitation(
        workspace_id=principal.workspace_id,
        email=normalize_email(body.email),
        role=body.role.value,
        token_hash=digest(plain),
        invited_by=principal.user_id,
        expires_at=datetime.now(UTC) + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    settings: Settings = request.app.state.settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return InvitationCreated(
        **InvitationOut.model_validate(invitation).model_dump(),
        token=plain,
        accept_url=f"{base}/invite?token={plain}",
    )


@router.delete("/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_invitation(invitation_id: str, session: DbSession, principal: Manager) -> None:
    """Withdraw a pending invitation."""
    invitation = get_scoped(session, Invitation, invitation_id, principal.workspace_id, "invitation")
    invitation.revoked_at = invitation.revoked_at or datetime.now(UTC)


@router.post("/accept", response_model=MeOut)
def accept_invitation(
    body: InvitationAccept, request: Request, response: Response, session: DbSession
) -> MeOut:
    """Join the workspace of an invitation (creating the account if needed) and sign in."""
    now = datetime.now(UTC)
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == digest(body.token.get_secret_value()))
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= now
    ):
        raise NotAuthenticated("this invitation is not valid (already used, withdrawn or expired)")
    user = find_user(session, invitation.email)
    if user is None:
        if body.password is None:
            raise InvalidInput("password: choose a password for your new account")
        user = create_user(
            session, invitation.email, name=body.name, password=body.password.get_secret_value()
        )
    bind_audit_context(
        session,
        AuditContext(
            actor=Actor("user", user.id, user.email),
            workspace_id=invitation.workspace_id,
            ip=client_ip(request),
        ),
    )
    if membership_of(session, user.id, invitation.workspace_id) is None:
        add_member(session, user, invitation.workspace_id, Role(invitation.role))
    invitation.accepted_at = now
    settings: Settings = request.app.state.settings
    start_session(session, user, request, response, settings, "invitation")
    return me_for_user(session, user, "session", invitation.workspace_id)
