"""Emarsys destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class EmarsysConfig(DestinationConfig):
    """An Emarsys API user (Management > Security Settings > API users) and its secret."""

    username: str = Field(
        min_length=1,
        description="API user name, e.g. account_name001 (sent in the X-WSSE UsernameToken).",
    )
    secret: SecretStr = Field(
        description="Secret of the API user. It never leaves Sluice: each request carries a "
        "SHA-1 digest of a nonce, the time and the secret instead."
    )
    external_id_field: str | None = Field(
        default=None,
        description="Emarsys field (id such as 4800, or its string id/name) holding your customer id; "
        "needed for activations matched by external id.",
    )
    rds_connection: str | None = Field(
        default=None,
        description="Relational Data Service connection name (Add-ons > Relational Data) of your "
        "Emarsys-hosted tables; needed to synchronize custom table data.",
    )
    rds_key_column: str = Field(
        default="external_id",
        min_length=1,
        description="Primary key column of the RDS tables Sluice writes; it receives each row's identifier.",
    )
    create_contacts: bool = Field(
        default=True,
        description="Contact upserts create contacts Emarsys does not know yet (create_if_not_exists=1). "
        "Off: unknown contacts are rejected. Contact list exports never create contacts.",
    )
    requests_per_minute: float = Field(
        default=1000, gt=0, le=1000, description="Pace of API calls (Emarsys: 1,000 per minute per API user)."
    )
    base_url: str | None = Field(
        default=None, description="Override of https://api.emarsys.net/api (local emulator)."
    )


class EmarsysActivationDefaults(ActivationDefaults):
    """New activations export the segment to a contact list named after it, matched by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "contact_list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
