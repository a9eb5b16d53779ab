"""Brevo destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class BrevoConfig(DestinationConfig):
    """An API key of the Brevo account, and where new lists go."""

    api_key: SecretStr = Field(description="Brevo API v3 key (header api-key), from SMTP & API → API keys.")
    folder_id: int = Field(
        default=1, ge=1, description="Folder new contact lists are created in (Brevo requires one)."
    )
    requests_per_second: float = Field(
        default=10,
        gt=0,
        le=100,
        description="Pace of requests (Brevo's general limit for /v3/contacts: 10/s).",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://api.brevo.com/v3 (local emulator)."
    )


class BrevoActivationDefaults(ActivationDefaults):
    """New activations keep a Brevo list in step with the segment, matching contacts by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
