"""API tokens: personal (act as their user, never above the user's current role) and service tokens.

A token is shown once when issued; only its SHA-256 digest and a short display prefix are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sluice.auth.accounts import membership_of
from sluice.auth.credentials import digest, new_secret
from sluice.auth.permissions import Role, weaker_role
from sluice.core.errors import InvalidInput, NotAuthenticated
from sluice.store.tables.auth import ApiToken, User

TOKEN_KINDS = ("personal", "service")
_PREFIXES = {"personal": "slu_pat_", "service": "slu_svc_"}
DISPLAY_PREFIX_LENGTH = 12
# last_used_at is written at most this often per token (it is a hint, not a log: the audit log is).
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedToken:
    """A token row and its plain value, which is never available again."""

    record: ApiToken
    plain: str


def issue_token(
    session: Session,
    *,
    workspace_id: str,
    name: str,
    kind: str,
    role: Role,
    user_id: str | None = None,
    created_by: str | None = None,
    expires_in_days: int | None = None,
) -> IssuedToken:
    """Create a token; the caller shows ``plain`` once."""
    if kind not in TOKEN_KINDS:
        raise InvalidInput(f"kind: must be one of {', '.join(TOKEN_KINDS)}")
    if kind == "personal" and user_id is None:
        raise InvalidInput("a personal token belongs to a user")
    plain = new_secret(_PREFIXES[kind])
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    record = ApiToken(
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        role=role.value,
        user_id=user_id if kind == "personal" else None,
        created_by=created_by,
        token_prefix=plain[:DISPLAY_PREFIX_LENGTH],
        token_hash=digest(plain),
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    return IssuedToken(record=record, plain=plain)


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token acts as."""

    token: ApiToken
    role: Role
    user: User | None


def authenticate_token(session: Session, plain: str) -> TokenIdentity:
    """The identity of a bearer token, or :class:`NotAuthenticated` with the reason."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(plain)))
    now = datetime.now(UTC)
    if token is None:
        raise NotAuthenticated("the API token is not valid")
    if token.revoked_at is not None:
        raise NotAuthenticated("the API token was revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated("the API token has expired")
    role = Role(token.role)
    user = None
    if token.kind == "personal":
        user = session.get(User, token.user_id) if token.user_id else None
        membership = membership_of(session, user.id, token.workspace_id) if user else None
        if user is None or not user.is_active or membership is None:
            raise NotAuthenticated("the API token's user is no longer a member of its workspace")
        role = weaker_role(role, Role(membership.role))
    return TokenIdentity(token=token, role=role, user=user)


def touch_last_used(session: Session, token: ApiToken) -> bool:
    """Stamp the token's last use (at most once a minute). Returns whether a write was made."""
    now = datetime.now(UTC)
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return True
