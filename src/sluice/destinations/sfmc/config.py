"""Salesforce Marketing Cloud destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.oauth import ClientCredentialsConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class SfmcConfig(ClientCredentialsConfig):
    """A server-to-server API integration of an Installed Package (client credentials grant)."""

    subdomain: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Tenant subdomain: the part before .auth.marketingcloudapis.com in the package's "
        "Authentication Base URI.",
    )
    client_id: str = Field(min_length=1, description="Client ID of the API integration (Installed Packages).")
    client_secret: SecretStr = Field(
        description="Client secret of the API integration; sent only to the auth host."
    )
    account_id: str | None = Field(
        default=None,
        description="MID of the business unit to write to (optional: default business unit of the package).",
    )
    requests_per_second: float = Field(
        default=10.0,
        gt=0,
        description="Pace of REST calls (Marketing Cloud publishes no number; 429 is honoured).",
    )
    job_timeout_seconds: float = Field(
        default=900.0,
        ge=10,
        description="How long to wait for an asynchronous row request before retrying the rows next run.",
    )
    base_url: str | None = Field(
        default=None,
        description="Override of https://{subdomain}.rest.marketingcloudapis.com (local emulator; "
        "oauth_base_url overrides the auth host).",
    )


class SfmcActivationDefaults(ActivationDefaults):
    """New activations upsert rows of a data extension keyed by the row's subscriber key."""

    service: Service = Service.UPSERT
    target_kind: str = "data_extension"
    identifier: IdentifierKind = IdentifierKind.EXTERNAL_ID
