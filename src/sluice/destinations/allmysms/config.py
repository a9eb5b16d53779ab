"""All My SMS destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class AllMySmsConfig(DestinationConfig):
    """The login and API key of an All My SMS account (or a sub-account's lists)."""

    login: str = Field(min_length=1, description="All My SMS login.")
    api_key: SecretStr = Field(description="API key, from the customer area (My account → API).")
    sub_account: str | None = Field(default=None, description="Sub-account whose lists Sluice manages.")
    default_country: str = Field(
        default="FR",
        pattern=r"^[A-Z]{2}$",
        description="Country (ISO 3166 alpha-2) of phone numbers written without an international prefix.",
    )
    list_fields: list[str] = Field(
        default_factory=lambda: ["FIRSTNAME", "LASTNAME"],
        description="Fields of the lists Sluice creates (their STRUCTURE); upserted fields must be among them.",
    )
    requests_per_second: float = Field(default=2, gt=0, le=20, description="Pace of requests.")
    base_url: str | None = Field(
        default=None, description="Override of https://api.allmysms.com/http/9.0 (local emulator)."
    )


class AllMySmsActivationDefaults(ActivationDefaults):
    """New activations keep an SMS contact list in step with the segment, matching mobile numbers."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "list"
    identifier: IdentifierKind = IdentifierKind.PHONE
