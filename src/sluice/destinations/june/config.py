"""June destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class JuneConfig(DestinationConfig):
    """An API key of a June email-marketing account and the address of its API."""

    api_url: str = Field(
        pattern=r"^https?://\S+$",
        description="Base URL of your June account's API, as given by June (no public default is documented).",
    )
    api_key: SecretStr = Field(description="API key (sent as Authorization: Bearer).")
    requests_per_second: float = Field(default=5, gt=0, le=50, description="Pace of requests.")


class JuneActivationDefaults(ActivationDefaults):
    """New activations keep a June contact list in step with the segment, matching contacts by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
