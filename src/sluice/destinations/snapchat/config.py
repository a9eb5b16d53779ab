"""Snapchat customer lists destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class SnapchatConfig(OAuthConfig):
    """The OAuth app ('Connect with Snapchat', scope snapchat-marketing-api) and the ad account whose
    customer-list segments Sluice manages. Access tokens are refreshed from the refresh token."""

    ad_account_id: str = Field(
        min_length=1, pattern=r"^[0-9a-fA-F-]{8,}$", description="Snap ad account id (a UUID)."
    )
    retention_in_days: int = Field(
        default=9999,
        ge=1,
        le=9999,
        description="Days Snap keeps members of created segments (9999: lifetime).",
    )
    default_country: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Country (ISO alpha-2) for phone numbers written without a country code.",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://adsapi.snapchat.com/v1 (local emulator)."
    )


class SnapchatActivationDefaults(ActivationDefaults):
    """New activations create a customer-list segment named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "segment"
    identifier: IdentifierKind = IdentifierKind.EMAIL
