"""LinkedIn Matched Audiences destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class LinkedInConfig(OAuthConfig):
    """A LinkedIn app authorized by a member with ``rw_dmp_segments`` (OAuth, refresh token) and the
    ad account whose DMP segments Sluice manages."""

    ad_account_id: str = Field(
        min_length=1,
        pattern=r"^(urn:li:sponsoredAccount:)?[0-9]+$",
        description="Sponsored (ad) account id, with or without the 'urn:li:sponsoredAccount:' prefix.",
    )
    source_platform: str = Field(
        min_length=1,
        pattern=r"^[A-Z0-9_]+$",
        description="The sourcePlatform value LinkedIn assigned to your application when it granted "
        "Audiences API access (required to create DMP segments).",
    )
    api_version: str = Field(
        default="202611", pattern=r"^[0-9]{6}$", description="LinkedIn-Version header (YYYYMM)."
    )
    base_url: str | None = Field(
        default=None, description="Override of https://api.linkedin.com/rest (local emulator)."
    )


class LinkedInActivationDefaults(ActivationDefaults):
    """New activations create a user DMP segment named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "user_segment"
    identifier: IdentifierKind = IdentifierKind.EMAIL
