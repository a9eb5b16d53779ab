"""Microsoft Advertising customer match destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.oauth import OAuthConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class MicrosoftAdsConfig(OAuthConfig):
    """An app registered with the Microsoft identity platform (OAuth), a developer token, and the
    customer and ad account whose customer lists Sluice manages."""

    developer_token: SecretStr = Field(
        description="Microsoft Advertising developer token (header DeveloperToken)."
    )
    customer_id: str = Field(
        min_length=1, pattern=r"^[0-9]+$", description="Customer (manager) id, header CustomerId."
    )
    account_id: str = Field(
        min_length=1, pattern=r"^[0-9]+$", description="Ad account id, header CustomerAccountId."
    )
    base_url: str | None = Field(
        default=None,
        description="Override of https://campaign.api.bingads.microsoft.com/CampaignManagement/v13 "
        "(sandbox or local emulator).",
    )


class MicrosoftAdsActivationDefaults(ActivationDefaults):
    """New activations create a customer list named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "customer_list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
