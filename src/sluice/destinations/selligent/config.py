"""Selligent (Marigold Engage) destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class SelligentConfig(DestinationConfig):
    """An API key of a Marigold Engage organization, and the profile list Sluice writes to."""

    server_url: str = Field(
        pattern=r"^https?://\S+$",
        description="Your Marigold Engage server, e.g. https://example.slgnt.eu (the API is under /Portal/Api).",
    )
    organization: str = Field(min_length=1, description="Organization, as shown in Admin Configuration.")
    api_key: str = Field(min_length=1, description="API key (Admin Configuration → Apps).")
    api_secret: SecretStr = Field(description="API secret of that key.")
    list_api_name: str = Field(
        default="CONTACTS", min_length=1, description="API name of the profile list segments belong to."
    )
    key_field: str = Field(default="MAIL", min_length=1, description="List field holding the email address.")
    requests_per_second: float = Field(default=5, gt=0, le=50, description="Pace of requests.")


class SelligentActivationDefaults(ActivationDefaults):
    """New activations keep a static segment of the profile list in step with the Sluice segment."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "segment"
    identifier: IdentifierKind = IdentifierKind.EMAIL
