"""X Ads custom audiences destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class XAdsConfig(DestinationConfig):
    """The app's consumer key/secret and a user's access token/secret (OAuth 1.0a) with access to
    the ad account whose custom audiences Sluice manages."""

    consumer_key: str = Field(min_length=1, description="API key (consumer key) of your X developer app.")
    consumer_secret: SecretStr = Field(description="API key secret (consumer secret) of your X app.")
    access_token: SecretStr = Field(
        description="Access token of a user with access to the ad account (OAuth 1.0a)."
    )
    access_token_secret: SecretStr = Field(description="Access token secret of that user.")
    ad_account_id: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9]+$", description="Ads account id (e.g. 18ce54d4x5t)."
    )
    api_version: str = Field(default="12", pattern=r"^[0-9]+$", description="Ads API version.")
    base_url: str | None = Field(
        default=None, description="Override of https://ads-api.x.com/<version> (local emulator)."
    )


class XAdsActivationDefaults(ActivationDefaults):
    """New activations create a custom audience named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "custom_audience"
    identifier: IdentifierKind = IdentifierKind.EMAIL
