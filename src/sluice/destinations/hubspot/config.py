"""HubSpot destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class HubSpotConfig(DestinationConfig):
    """A private-app access token of the HubSpot account (portal)."""

    access_token: SecretStr = Field(
        description="Private app access token (Authorization: Bearer pat-…). Scopes: crm.objects.*.read/write "
        "for the objects you sync, crm.lists.read/write, crm.schemas.*.read."
    )
    requests_per_10_seconds: int = Field(
        default=100,
        ge=10,
        le=250,
        description="Burst limit of the portal, shared by every app: 100 (Free/Starter), 190 "
        "(Professional/Enterprise), 250 with the capacity pack.",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://api.hubapi.com (local emulator)."
    )


class HubSpotActivationDefaults(ActivationDefaults):
    """New activations keep a manual contact list in step with the segment, matching by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
