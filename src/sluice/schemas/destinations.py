"""API schemas of destinations. Secrets are write-only: responses list which are set, never values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class DestinationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=50)
    description: str = ""
    config: dict[str, Any] = Field(
        default_factory=dict, description="Non-secret settings of the type's form."
    )
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="Write-only credentials.")
    activation_defaults: dict[str, Any] | None = Field(
        default=None, description="Default activation settings; the type's defaults when omitted."
    )


class DestinationUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    config: dict[str, Any] | None = None
    secrets: dict[str, SecretStr] | None = Field(
        default=None, description="Write-only; keys given replace stored values, others are kept."
    )
    activation_defaults: dict[str, Any] | None = None


class DestinationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workspace_id: str
    name: str
    type: str
    description: str
    config: dict[str, Any]
    secret_names: list[str] = Field(
        description="Names of the secrets that are set (values are never returned)."
    )
    activation_defaults: dict[str, Any]
    last_test_status: str | None = None
    last_test_message: str | None = None
    last_tested_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class DestinationOAuthOut(BaseModel):
    """OAuth 2.0 of a destination type: with ``connect``, users authorize with "Connect with
    <vendor>", which fills the secret ``connect_field`` (the refresh token) instead of a form field."""

    vendor: str
    grant: str = Field(description="refresh_token or client_credentials")
    connect: bool
    connect_field: str


class DestinationTypeOut(BaseModel):
    """A kind of destination: its config form (JSON Schema, secret fields ``writeOnly``),
    capabilities and default activation settings."""

    name: str
    title: str
    description: str
    docs_url: str
    json_schema: dict[str, Any]
    secret_fields: list[str]
    capabilities: dict[str, Any]
    activation_defaults: dict[str, Any]
    activation_defaults_schema: dict[str, Any]
    standard_fields: list[dict[str, str]] = Field(
        default_factory=list,
        description="Fields the destination knows, with their standard meaning (pre-filled mappings).",
    )
    oauth: DestinationOAuthOut | None = Field(
        default=None, description="Set when the platform authorizes with OAuth 2.0."
    )


class DestinationCheckOut(BaseModel):
    """Outcome of a connection test: ``status`` is ok, config_error or unreachable."""

    ok: bool
    status: str
    message: str
    tested_at: datetime


class TargetOut(BaseModel):
    kind: str
    id: str
    name: str
    parent_id: str | None = None
    size: int | None = None


class TargetPageOut(BaseModel):
    """One page of targets for a picker; pass ``next_cursor`` back as ``cursor``."""

    items: list[TargetOut]
    next_cursor: str | None = None
