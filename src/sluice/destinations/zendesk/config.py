"""Zendesk destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class ZendeskConfig(DestinationConfig):
    """A Zendesk Support account: subdomain, an agent/admin email and an API token."""

    subdomain: str = Field(
        min_length=1,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="The account's subdomain: <subdomain>.zendesk.com.",
    )
    email: str = Field(min_length=3, description="Email of the admin whose API token is used.")
    api_token: SecretStr = Field(
        description="API token (Admin Center > Apps and integrations > Zendesk API)."
    )
    requests_per_minute: int = Field(
        default=400, ge=10, description="Pace of API calls; Zendesk limits requests per minute by plan."
    )
    job_timeout_seconds: float = Field(
        default=900.0, ge=10, description="How long to wait for a bulk job before retrying its rows next run."
    )
    base_url: str | None = Field(
        default=None, description="Override of https://<subdomain>.zendesk.com (emulator)."
    )


class ZendeskActivationDefaults(ActivationDefaults):
    """New activations upsert end users matched by email."""

    service: Service = Service.UPSERT
    target_kind: str = "user"
    identifier: IdentifierKind = IdentifierKind.EMAIL
