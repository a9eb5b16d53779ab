"""TikTok destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service

#: where conversions happened (the Events API's ``event_source``)
EventSource = Literal["web", "offline", "crm"]


class TikTokConfig(DestinationConfig):
    """A long-lived access token, the advertiser whose custom audiences Sluice manages and the
    pixel (event source) conversions are reported to."""

    access_token: SecretStr = Field(
        description="TikTok API for Business access token (header Access-Token). TikTok's advertiser "
        "tokens do not expire until the advertiser revokes them."
    )
    advertiser_id: str = Field(min_length=1, pattern=r"^[0-9]+$", description="TikTok advertiser id.")
    pixel_code: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]+$",
        description="Pixel code (or offline event set id) conversions are reported to; needed by events activations.",
    )
    event_source: EventSource = Field(default="web", description="The Events API event_source of that id.")
    test_event_code: str | None = Field(
        default=None,
        description="Test event code from Events Manager: conversions then show under Test Events only.",
    )
    default_country: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Country (ISO alpha-2) for phone numbers written without a country code.",
    )
    base_url: str | None = Field(
        default=None,
        description="Override of https://business-api.tiktok.com/open_api/v1.3 (local emulator).",
    )


class TikTokActivationDefaults(ActivationDefaults):
    """New activations create a customer-file custom audience named after the segment (hashed email)."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "custom_audience"
    identifier: IdentifierKind = IdentifierKind.EMAIL
