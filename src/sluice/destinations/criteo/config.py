"""Criteo contact-list audience segments destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field

from sluice.destinations.oauth import ClientCredentialsConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class CriteoConfig(ClientCredentialsConfig):
    """A Criteo API app's client credentials (client-credentials grant) and the advertiser whose
    contact-list audience segments Sluice manages."""

    advertiser_id: str = Field(min_length=1, pattern=r"^[0-9]+$", description="Criteo advertiser id.")
    api_version: str = Field(
        default="2026-07", pattern=r"^[0-9]{4}-[0-9]{2}$", description="Criteo API version (YYYY-MM)."
    )
    base_url: str | None = Field(
        default=None,
        description="Override of https://api.criteo.com/<version>/marketing-solutions (local emulator).",
    )


class CriteoActivationDefaults(ActivationDefaults):
    """New activations create a contact-list segment named after the segment, matched on hashed email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "contact_list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
