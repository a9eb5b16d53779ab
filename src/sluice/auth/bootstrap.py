"""First start: the first owner comes from settings, or from a one-time setup link; demo sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from sluice.auth.accounts import add_member, create_user, find_user
from sluice.auth.audit import record_audit
from sluice.auth.credentials import digest, new_secret
from sluice.auth.permissions import Role
from sluice.core.errors import Conflict, NotAuthenticated
from sluice.core.settings import Settings
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.auth import SetupToken, User

SETUP_LINK_HOURS = 24
DEMO_EMAIL = "demo@sluice.local"


def has_users(session: Session) -> bool:
    """Whether any account exists yet."""
    return bool(session.scalar(select(exists().where(User.id.is_not(None)))))


def first_start(settings: Settings, database: Database) -> str | None:
    """Make sure somebody can sign in; returns a line to print, or None when accounts exist.

    With ``SLUICE_ADMIN_EMAIL`` and ``SLUICE_ADMIN_PASSWORD`` the owner is created directly;
    otherwise a one-time setup link is created (valid for a day) for the first visitor to claim.
    """
    with database.session() as session:
        if has_users(session):
            return None
        if settings.admin_email and settings.admin_password:
            owner = create_owner(
                session, settings.admin_email, settings.admin_password.get_secret_value(), name="Admin"
            )
            return f"Created the owner account {owner.email} (from SLUICE_ADMIN_EMAIL)."
        if settings.demo:
            demo_owner(session)
            return "Demo mode: the sign-in page offers one-click access as the demo owner."
        plain = new_secret()
        session.add(
            SetupToken(
                token_hash=digest(plain),
                expires_at=datetime.now(UTC) + timedelta(hours=SETUP_LINK_HOURS),
            )
        )
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return f"No account yet. Create the owner within {SETUP_LINK_HOURS} hours at: {base}/setup?token={plain}"


def create_owner(session: Session, email: str, password: str | None, *, name: str = "") -> User:
    """A user who owns the default workspace."""
    user = create_user(session, email, name=name, password=password)
    add_member(session, user, ensure_default_workspace(session).id, Role.OWNER)
    record_audit(session, "user.created_owner", "user", user.id, {"email": user.email})
    return user


def claim_setup(session: Session, token: str, email: str, password: str, name: str) -> User:
    """Create the first owner with a setup token; the token works once, and only while no account exists."""
    now = datetime.now(UTC)
    claimed = session.execute(
        update(SetupToken)
        .where(
            SetupToken.token_hash == digest(token), SetupToken.used_at.is_(None), SetupToken.expires_at > now
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAuthenticated("this setup link is not valid (already used or expired)")
    if has_users(session):
        raise Conflict("Sluice is already set up: sign in instead")
    return create_owner(session, email, password, name=name)


def demo_owner(session: Session) -> User:
    """The demo user, owner of the default workspace (created on first use)."""
    user = find_user(session, DEMO_EMAIL)
    if user is None:
        user = create_owner(session, DEMO_EMAIL, None, name="Demo user")
    return user
