"""Display & Video 360 destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service

#: what Sluice declares for every member uploaded (DV360 refuses a request with DENIED consent)
Dv360Consent = Literal["GRANTED", "UNSPECIFIED"]


class Dv360Config(OAuthConfig):
    """OAuth client + refresh token ('Connect with Google', scope display-video) and the advertiser
    whose Customer Match audiences Sluice manages."""

    advertiser_id: str = Field(pattern=r"^[0-9]+$", description="Display & Video 360 advertiser id.")
    api_version: Literal["v3", "v4"] = Field(
        default="v4",
        description="API version: v4 calls audiences firstPartyAndPartnerAudiences, v3 firstAndThirdPartyAudiences.",
    )
    ad_user_data_consent: Dv360Consent = Field(
        default="UNSPECIFIED",
        description="Consent sent with every member for using their data for advertising (adUserData).",
    )
    ad_personalization_consent: Dv360Consent = Field(
        default="UNSPECIFIED",
        description="Consent sent with every member for ad personalization (adPersonalization).",
    )
    membership_duration_days: int = Field(
        default=540, ge=1, le=540, description="How long a member stays in an audience Sluice creates."
    )
    default_country: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Country (ISO alpha-2) for phone numbers written without a country code.",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://displayvideo.googleapis.com (local emulator)."
    )


class Dv360ActivationDefaults(ActivationDefaults):
    """New activations create a Customer Match audience named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "audience"
    identifier: IdentifierKind = IdentifierKind.EMAIL
