"""Dialog Insight destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class DialogInsightConfig(DestinationConfig):
    """An API key (id + key) of a Dialog Insight account, and the project whose contacts Sluice keeps."""

    key_id: int = Field(ge=1, description="API key id (AuthKey.idKey), from Account → API keys.")
    api_key: SecretStr = Field(description="API key (AuthKey.Key).")
    project_id: int = Field(ge=1, description="Project whose contacts are synchronized (idProject).")
    key_field: str = Field(
        default="f_EMail",
        min_length=1,
        description="Project field that identifies a contact (its primary key).",
    )
    requests_per_second: float = Field(default=2, gt=0, le=20, description="Pace of requests.")
    base_url: str | None = Field(
        default=None,
        description="Override of https://app.mydialoginsight.com/webservices/ofc4 (local emulator).",
    )


class DialogInsightActivationDefaults(ActivationDefaults):
    """New activations create and update the project's contacts, matched by email."""

    service: Service = Service.UPSERT
    target_kind: str = "contacts"
    identifier: IdentifierKind = IdentifierKind.EMAIL
