"""Actito destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class ActitoConfig(DestinationConfig):
    """An API key, the entity and the profile table Sluice writes to."""

    api_key: SecretStr = Field(
        description="Actito API key (created by the licence administrator for an API user); Sluice trades "
        "it for a 15-minute access token at GET /auth/token."
    )
    entity: str = Field(min_length=1, max_length=200, description="Entity the profile table belongs to.")
    profile_table: str = Field(min_length=1, max_length=200, description="Name of the profile table.")
    email_attribute: str = Field(
        default="emailAddress", min_length=1, description="Unique attribute matched by email identifiers."
    )
    id_attribute: str = Field(
        default="customerId", min_length=1, description="Unique attribute matched by external id identifiers."
    )
    base_url: str = Field(
        default="https://api.actito.com", pattern=r"^https?://", description="Override (local emulator)."
    )
    requests_per_minute: float = Field(
        default=100,
        gt=0,
        le=10_000,
        description="Pace of calls: Actito allows 100 calls per minute per licence (more with extension "
        "packs); calls beyond it are slowed down, not refused.",
    )


class ActitoActivationDefaults(ActivationDefaults):
    """New activations export segments as a segmentation of the profile table, matched by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "segmentation"
    identifier: IdentifierKind = IdentifierKind.EMAIL
