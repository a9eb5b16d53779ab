"""Intercom destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service

REGION_HOSTS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}


class IntercomConfig(DestinationConfig):
    """An access token and the region the workspace lives in."""

    access_token: SecretStr = Field(description="Access token of an Intercom app (private app or OAuth).")
    region: Literal["us", "eu", "au"] = Field(
        default="us",
        description="Region of the workspace: api.intercom.io, api.eu.intercom.io or api.au.intercom.io.",
    )
    api_version: str = Field(default="2.14", description="Sent as the Intercom-Version header.")
    rate_limit_per_minute: int = Field(
        default=1000,
        ge=60,
        description="Calls per minute the app may make (Intercom enforces it in 10-second windows).",
    )
    base_url: str | None = Field(default=None, description="Override of the regional host (local emulator).")


class IntercomActivationDefaults(ActivationDefaults):
    """New activations tag existing users, matched by email, with a tag named after the segment."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "tag"
    identifier: IdentifierKind = IdentifierKind.EMAIL
