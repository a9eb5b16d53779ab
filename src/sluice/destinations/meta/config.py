"""Meta Custom Audiences destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service

#: where the customer file comes from (Meta's ``customer_file_source``)
CustomerFileSource = Literal["USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"]


class GraphApiConfig(DestinationConfig):
    """What every Meta Graph API destination asks for (custom audiences, Conversions API)."""

    access_token: SecretStr = Field(
        description="System-user access token (sent as 'Authorization: Bearer', never in URLs)."
    )
    api_version: str = Field(default="v25.0", pattern=r"^v[0-9]+\.[0-9]+$", description="Graph API version.")
    default_country: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Country (ISO alpha-2) for phone numbers written without a country code.",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://graph.facebook.com/<version> (local emulator)."
    )


class MetaConfig(GraphApiConfig):
    """A system-user access token and the ad account whose custom audiences Sluice manages."""

    access_token: SecretStr = Field(
        description="System-user access token with ads_management on the ad account "
        "(sent as 'Authorization: Bearer', never in URLs)."
    )
    ad_account_id: str = Field(
        min_length=1,
        pattern=r"^(act_)?[0-9]+$",
        description="Ad account id, with or without the 'act_' prefix.",
    )
    customer_file_source: CustomerFileSource = Field(
        default="USER_PROVIDED_ONLY",
        description="Where the customer data was collected (required by Meta when creating an audience).",
    )


class MetaActivationDefaults(ActivationDefaults):
    """New activations create a custom audience named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "custom_audience"
    identifier: IdentifierKind = IdentifierKind.EMAIL
