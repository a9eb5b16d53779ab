"""API schemas of accounts, memberships, invitations, tokens, SSO providers and the audit log.

Passwords, tokens and client secrets are write-only; a new token's value appears once, in the
response that creates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sluice.auth.permissions import Role


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: SecretStr = Field(min_length=1, max_length=1000)


class SetupIn(BaseModel):
    token: SecretStr = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    password: SecretStr = Field(min_length=1, max_length=1000)
    name: str = Field(default="", max_length=200)


class PasswordChangeIn(BaseModel):
    current_password: SecretStr = Field(default=SecretStr(""), max_length=1000)
    new_password: SecretStr = Field(min_length=1, max_length=1000)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    created_at: datetime
    last_login_at: datetime | None


class UserUpdate(BaseModel):
    name: str = Field(max_length=200)


class WorkspaceRoleOut(BaseModel):
    id: str
    name: str
    slug: str
    role: Role


class MeOut(BaseModel):
    """The signed-in principal: user (None for a service token), workspaces and the current one."""

    user: UserOut | None
    workspaces: list[WorkspaceRoleOut]
    current_workspace: WorkspaceRoleOut
    role: Role
    authenticated_by: Literal["session", "token"]


class MemberOut(BaseModel):
    id: str
    user_id: str
    email: str
    name: str
    role: Role
    created_at: datetime


class MemberUpdate(BaseModel):
    role: Role


class InvitationCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role = Role.VIEWER


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    role: Role
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationOut):
    token: str = Field(description="Shown once: send it (or accept_url) to the invited person.")
    accept_url: str


class InvitationAccept(BaseModel):
    token: SecretStr = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)
    password: SecretStr | None = Field(default=None, max_length=1000)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role | None = Field(default=None, description="Defaults to your own role (never above it).")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    role: Role
    user_id: str | None
    token_prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; only a digest is kept.")


class SamlSettings(BaseModel):
    """The identity provider's side of a SAML connection (from its metadata)."""

    idp_entity_id: str = Field(min_length=1, max_length=2000)
    idp_sso_url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    idp_x509_cert: str = Field(min_length=16, max_length=20000, description="Signing certificate (PEM).")


class SsoProviderCreate(BaseModel):
    """An OIDC provider (discovery_url, client_id, client_secret) or a SAML one (saml)."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["oidc", "saml"] = "oidc"
    discovery_url: str | None = Field(default=None, min_length=8, max_length=2000, pattern=r"^https?://")
    client_id: str | None = Field(default=None, min_length=1, max_length=300)
    client_secret: SecretStr | None = Field(
        default=None, min_length=1, max_length=2000, description="Write-only."
    )
    saml: SamlSettings | None = None
    domains: list[str] = Field(min_length=1, max_length=50)
    default_role: Role = Role.VIEWER
    enabled: bool = True


class SsoProviderUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    discovery_url: str | None = Field(default=None, min_length=8, max_length=2000, pattern=r"^https?://")
    client_id: str | None = Field(default=None, min_length=1, max_length=300)
    client_secret: SecretStr | None = Field(default=None, min_length=1, max_length=2000)
    saml: SamlSettings | None = None
    domains: list[str] | None = Field(default=None, min_length=1, max_length=50)
    default_role: Role | None = None
    enabled: bool | None = None


class SsoProviderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    discovery_url: str
    client_id: str
    saml: SamlSettings | None
    domains: list[str]
    default_role: Role
    enabled: bool
    secret_names: list[str]
    created_at: datetime


class AuditLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    workspace_id: str | None
    actor_type: str
    actor_id: str | None
    actor_name: str
    action: str
    target_type: str
    target_id: str | None
    changes: dict[str, Any]
    detail: dict[str, Any]
    request_id: str | None
    ip: str | None
