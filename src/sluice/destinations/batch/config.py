"""Batch destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class BatchConfig(DestinationConfig):
    """The company REST API key, and the project (CEP) and/or app (MEP) it writes to."""

    rest_api_key: SecretStr = Field(
        description="Batch REST API key (Settings → General). Sent as Authorization: Bearer to the "
        "Project APIs and as X-Authorization to the Custom Data API."
    )
    project_key: str = Field(
        default="",
        max_length=200,
        description="Project key (X-Batch-Project), for profiles and events (Customer Engagement Platform).",
    )
    app_api_key: str = Field(
        default="",
        max_length=200,
        description="Live API key of an app, for install custom data (Mobile Engagement Platform).",
    )
    api_version: str = Field(
        default="2.11", pattern=r"^2\.\d+$", description="Version of the Project APIs (/2.x/profiles/update)."
    )
    base_url: str = Field(
        default="https://api.batch.com", pattern=r"^https?://", description="Override (local emulator)."
    )
    updates_per_second: float = Field(
        default=300,
        gt=0,
        le=10_000,
        description="Profile updates per second /profiles/update allows (Batch: 300, bursts up to 1,000; "
        "one update per custom id in a call).",
    )

    @model_validator(mode="after")
    def _one_destination(self) -> Self:
        if not self.project_key.strip() and not self.app_api_key.strip():
            raise ValueError("give a project key (profiles, events) or an app API key (install data)")
        return self


class BatchActivationDefaults(ActivationDefaults):
    """New activations synchronize profile attributes, matched by custom id."""

    service: Service = Service.UPSERT
    target_kind: str = "profiles"
    identifier: IdentifierKind = IdentifierKind.EXTERNAL_ID
