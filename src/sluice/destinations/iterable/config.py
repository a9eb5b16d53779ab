"""Iterable destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service

REGION_HOSTS = {"us": "https://api.iterable.com/api", "eu": "https://api.eu.iterable.com/api"}


class IterableConfig(DestinationConfig):
    """A server-side API key of one Iterable project and the data center it lives in."""

    api_key: SecretStr = Field(description="Server-side API key of the project (sent as the Api-Key header).")
    region: Literal["us", "eu"] = Field(
        default="us", description="Data center of the project: api.iterable.com or api.eu.iterable.com."
    )
    update_existing_users_only: bool = Field(
        default=True,
        description="List exports only add users that already exist in Iterable (unknown users are "
        "rejected) instead of creating them.",
    )
    requests_per_second: float = Field(
        default=5.0, gt=0, description="Pace of API calls (Iterable limits each endpoint per project)."
    )
    base_url: str | None = Field(default=None, description="Override of the regional host (local emulator).")


class IterableActivationDefaults(ActivationDefaults):
    """New activations export the segment to a static list named after it, users matched by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
