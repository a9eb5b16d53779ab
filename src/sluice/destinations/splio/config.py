"""Splio destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class SplioConfig(DestinationConfig):
    """An API key of the Splio universe (exchanged for a one-hour token at ``POST /authenticate``)."""

    api_key: SecretStr = Field(
        description="Splio universe API key (Admin → Users → Users API). Sluice trades it for a JWT at "
        "POST /authenticate and renews the token before it expires."
    )
    base_url: str = Field(
        default="https://api.splio.com", pattern=r"^https?://", description="Override (local emulator)."
    )
    requests_per_second: float = Field(
        default=10,
        gt=0,
        le=20,
        description="Pace of calls. Splio limits by client IP: 20 per second on data/contacts, 10 on the rest.",
    )


class SplioActivationDefaults(ActivationDefaults):
    """New activations export segments into a targeting group, matched by the contact's email (unique key)."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "group"
    identifier: IdentifierKind = IdentifierKind.EMAIL
