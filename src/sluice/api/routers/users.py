"""The signed-in user's own account: name and password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import update

from sluice.api.deps import DbSession, require
from sluice.auth.audit import record_audit
from sluice.auth.browser import SESSION_COOKIE
from sluice.auth.credentials import digest, hash_password, verify_password
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.errors import InvalidInput, PermissionDenied
from sluice.schemas.auth import PasswordChangeIn, UserOut, UserUpdate
from sluice.store.tables.auth import User, UserSession

router = APIRouter(prefix="/users/me", tags=["users"])
Member = Annotated[Principal, Depends(require(Permission.WORKSPACE_READ))]


def _me(session: DbSession, principal: Principal) -> User:
    user = session.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise InvalidInput("a service token has no user account")
    return user


@router.patch("", response_model=UserOut)
def update_me(body: UserUpdate, session: DbSession, principal: Member) -> User:
    """Change your display name."""
    user = _me(session, principal)
    user.name = body.name
    return user


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChangeIn, request: Request, session: DbSession, principal: Member) -> None:
    """Change your password; every other browser session of yours is signed out."""
    user = _me(session, principal)
    if user.password_hash is not None and not verify_password(
        user.password_hash, body.current_password.get_secret_value()
    ):
        raise PermissionDenied("the current password is wrong")
    user.password_hash = hash_password(body.new_password.get_secret_value())
    current = digest(request.cookies.get(SESSION_COOKIE, ""))
    session.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.token_hash != current,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    record_audit(session, "user.password_changed", "user", user.id)
