"""Reddit Ads custom audiences destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class RedditConfig(OAuthConfig):
    """A Reddit app (OAuth, refresh token) and the ad account whose customer lists Sluice manages."""

    ad_account_id: str = Field(
        min_length=1, pattern=r"^[at][0-9]_[A-Za-z0-9]+$", description="Ad account id (a2_… or t2_…)."
    )
    user_agent: str = Field(
        default="sluice-cdp/1.0 (by /u/sluice)",
        min_length=1,
        description="User-Agent Reddit asks every API client to send (app name and contact).",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://ads-api.reddit.com/api/v3 (local emulator)."
    )


class RedditActivationDefaults(ActivationDefaults):
    """New activations create a customer-list audience named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "customer_list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
