"""Search Ads 360 destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class Sa360Config(OAuthConfig):
    """OAuth client + refresh token ('Connect with Google', scope doubleclicksearch) and the
    Search Ads 360 agency and advertiser the conversions belong to."""

    agency_id: str = Field(pattern=r"^[0-9]+$", description="Search Ads 360 agency id.")
    advertiser_id: str = Field(pattern=r"^[0-9]+$", description="Search Ads 360 advertiser id.")
    base_url: str | None = Field(
        default=None,
        description="Override of https://www.googleapis.com/doubleclicksearch/v2 (local emulator).",
    )


class Sa360ActivationDefaults(ActivationDefaults):
    """New activations send offline conversions, matched on the click id, to a Floodlight activity."""

    service: Service = Service.EVENTS
    target_kind: str = "floodlight_activity"
    identifier: IdentifierKind = IdentifierKind.PLATFORM_ID
