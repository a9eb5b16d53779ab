"""Klaviyo destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service

#: the revision of Klaviyo's stable API the connector is written against (``revision`` header)
REVISION = "2026-07-15"


class KlaviyoConfig(DestinationConfig):
    """A private API key of the Klaviyo account."""

    api_key: SecretStr = Field(
        description="Klaviyo private API key (Authorization: Klaviyo-API-Key pk_…). Scopes: lists:write, "
        "profiles:write, subscriptions:write, accounts:read."
    )
    revision: str = Field(
        default=REVISION,
        pattern=r"^\d{4}-\d{2}-\d{2}(\.pre)?$",
        description="API revision sent in the revision header.",
    )
    requests_per_second: float = Field(
        default=10,
        gt=0,
        le=75,
        description="Pace of requests (Klaviyo list writes: 10/s burst, 150/min steady).",
    )
    consent_source: str = Field(
        default="Sluice", max_length=100, description="custom_source recorded with subscriptions."
    )
    base_url: str | None = Field(
        default=None, description="Override of https://a.klaviyo.com (local emulator)."
    )


class KlaviyoActivationDefaults(ActivationDefaults):
    """New activations keep a Klaviyo list in step with the segment, matching profiles by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
