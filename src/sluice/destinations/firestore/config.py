"""Firestore destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from sluice.destinations.firestore.auth import parse_service_account
from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class FirestoreConfig(DestinationConfig):
    """A Google Cloud project's Firestore database, reached with a service account (or an emulator)."""

    project_id: str = Field(
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", description="Google Cloud project id (e.g. my-shop-prod)."
    )
    database: str = Field(default="(default)", min_length=1, description="Firestore database id.")
    service_account_json: SecretStr | None = Field(
        default=None,
        description="Service account key file (JSON) with the Cloud Datastore User role; "
        "leave empty only for a Firestore emulator.",
    )
    emulator: bool = Field(
        default=False,
        description="Talk to a Firestore emulator at base_url without OAuth (Authorization: Bearer owner).",
    )
    document_id_from: Literal["identifier", "primary_key"] = Field(
        default="identifier",
        description="Document ids: the activation's identifier (a mapped id field) or the model's primary key.",
    )
    requests_per_second: float = Field(
        default=20, gt=0, le=500, description="Pace of requests (each carries up to 500 writes)."
    )
    base_url: str | None = Field(
        default=None, description="Override of https://firestore.googleapis.com/v1 (an emulator)."
    )

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.service_account_json is not None:
            parse_service_account(self.service_account_json.get_secret_value())
        elif not self.emulator:
            raise ValueError("a service account key is required unless emulator is set")
        if self.emulator and not self.base_url:
            raise ValueError("base_url (the emulator's address) is required with emulator")
        return self


class FirestoreActivationDefaults(ActivationDefaults):
    """New activations write one document per row into a collection, keyed by an external id."""

    service: Service = Service.UPSERT
    target_kind: str = "collection"
    identifier: IdentifierKind = IdentifierKind.EXTERNAL_ID
