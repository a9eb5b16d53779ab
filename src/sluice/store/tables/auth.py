"""Users, workspace memberships, sessions, API tokens, invitations, login throttles and SSO providers.

Credentials are never stored in the clear: passwords as argon2 hashes, session cookies, API
tokens, invitation and setup tokens as SHA-256 digests (they are long random values, so a fast
digest is enough and allows lookup), SSO client secrets encrypted (:class:`EncryptedSecretsMixin`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, IdMixin, WorkspaceScoped
from sluice.store.secrets import EncryptedSecretsMixin


class User(IdMixin, Base):
    """A person who signs in: local password (argon2) and/or single sign-on."""

    __tablename__ = "users"
    __audit__ = True  # not workspace-scoped, but account changes belong in the audit trail

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class Membership(WorkspaceScoped, Base):
    """A user's role in one workspace."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    user_id: Mapped[str] = mapped_column(String(26), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))


class ApiToken(WorkspaceScoped, Base):
    """A bearer token for the CLI and automation, scoped to one workspace and one role.

    ``kind`` is ``personal`` (acts as ``user_id``, never above that user's current role) or
    ``service`` (acts as itself). Only ``token_hash`` is stored; the token is shown once.
    """

    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(
        String(26), ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    created_by: Mapped[str | None] = mapped_column(String(26), default=None)
    token_prefix: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class UserSession(IdMixin, Base):
    """A signed-in browser: the ``sluice_session`` cookie's digest, expiry and origin."""

    __tablename__ = "user_sessions"

    user_id: Mapped[str] = mapped_column(String(26), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    method: Mapped[str] = mapped_column(String(20), default="password")


class Invitation(WorkspaceScoped, Base):
    """An invitation of an email address into a workspace with a role; accepted once."""

    __tablename__ = "invitations"

    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(String(26), default=None)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginThrottle(IdMixin, Base):
    """Failed sign-ins per (email, IP) key: the window's count and the lock-out end."""

    __tablename__ = "login_throttles"

    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class SetupToken(IdMixin, Base):
    """The one-time link printed on first start, to create the first owner."""

    __tablename__ = "setup_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class SsoProvider(WorkspaceScoped, EncryptedSecretsMixin, Base):
    """A single sign-on identity provider of a workspace: ``kind`` is ``oidc`` or ``saml``.

    Users whose email domain is in ``domains`` sign in through it; unknown users are created on
    first sign-in (just-in-time) with ``default_role`` in this workspace. An OIDC client secret
    lives in the encrypted secrets (``client_secret``); SAML needs none (only the IdP certificate).
    """

    __tablename__ = "sso_providers"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="oidc")
    discovery_url: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(300))
    domains: Mapped[list[Any]] = mapped_column(default=list)
    default_role: Mapped[str] = mapped_column(String(20), default="viewer")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # SAML providers: {"idp_entity_id", "idp_sso_url", "idp_x509_cert"} (a public certificate).
    saml: Mapped[dict[str, Any] | None] = mapped_column(default=None)
