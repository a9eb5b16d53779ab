"""Google Ads destination config (its JSON Schema is the UI form).

Shared by the Customer Match destination (``google_ads``) and the conversions destination
(``google_ads_conversions``): both talk to the same Google Ads API account with the same
OAuth client, developer token and customer ids.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service

#: Google's consent values for ``Consent.ad_user_data`` / ``ad_personalization``
ConsentStatus = Literal["GRANTED", "DENIED", "UNSPECIFIED"]


def digits(value: str) -> str:
    """A Google Ads customer id without dashes (``123-456-7890`` → ``1234567890``)."""
    return value.replace("-", "").strip()


class GoogleAdsConfig(OAuthConfig):
    """OAuth client + refresh token ('Connect with Google', scope adwords), developer token, and the
    customer (ad account) to write to."""

    developer_token: SecretStr = Field(description="Google Ads API developer token (header developer-token).")
    customer_id: str = Field(
        pattern=r"^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$",
        description="Google Ads customer id the lists or conversions belong to (with or without dashes).",
    )
    login_customer_id: str | None = Field(
        default=None,
        pattern=r"^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$",
        description="Manager account id used to reach the customer (header login-customer-id), if any.",
    )
    api_version: str = Field(default="v26", pattern=r"^v[0-9]+$", description="Google Ads API version.")
    ad_user_data_consent: ConsentStatus = Field(
        default="UNSPECIFIED",
        description="Consent for sending user data to Google for advertising (Consent.ad_user_data); "
        "required as GRANTED for people in the EEA.",
    )
    ad_personalization_consent: ConsentStatus = Field(
        default="UNSPECIFIED",
        description="Consent for ad personalization (Consent.ad_personalization).",
    )
    default_country: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Country (ISO alpha-2) for phone numbers written without a country code.",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://googleads.googleapis.com (local emulator)."
    )

    @field_validator("customer_id", "login_customer_id")
    @classmethod
    def _without_dashes(cls, value: str | None) -> str | None:
        return digits(value) if value else value


class GoogleAdsActivationDefaults(ActivationDefaults):
    """New activations create a Customer Match list named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "user_list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
