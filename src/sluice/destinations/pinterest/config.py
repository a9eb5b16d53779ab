"""Pinterest destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service

#: where conversions happened (Pinterest's ``action_source``)
ActionSource = Literal["web", "offline", "app_android", "app_ios"]


class PinterestConfig(OAuthConfig):
    """The OAuth app ('Connect with Pinterest', scopes ads:read ads:write) and the ad account whose
    customer lists and conversions Sluice writes. Access tokens are refreshed from the refresh token."""

    ad_account_id: str = Field(min_length=1, pattern=r"^[0-9]+$", description="Pinterest ad account id.")
    action_source: ActionSource = Field(
        default="offline", description="Where the conversions sent by events activations happened."
    )
    test_mode: bool = Field(
        default=False,
        description="Send conversions with ?test=true: Pinterest validates them but records nothing.",
    )
    default_country: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Country (ISO alpha-2) for phone numbers written without a country code.",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://api.pinterest.com/v5 (emulator)."
    )


class PinterestActivationDefaults(ActivationDefaults):
    """New activations create a customer list (and its audience) named after the segment."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "customer_list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
