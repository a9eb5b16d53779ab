"""SendGrid destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class SendGridConfig(DestinationConfig):
    """A SendGrid API key with Marketing Campaigns access."""

    api_key: SecretStr = Field(
        description="SendGrid API key (sent as a Bearer token); needs marketing scopes."
    )
    add_unknown_contacts_to_lists: bool = Field(
        default=False,
        description="List exports create contacts SendGrid does not know yet (off: such rows are rejected).",
    )
    requests_per_second: float = Field(
        default=10.0,
        gt=0,
        description="Pace of API calls (SendGrid also reports its limits in X-RateLimit headers).",
    )
    job_timeout_seconds: float = Field(
        default=900.0,
        ge=10,
        description="How long to wait for SendGrid to process an upsert job before retrying the rows next run.",
    )
    base_url: str | None = Field(
        default=None, description="Override of https://api.sendgrid.com (local emulator)."
    )


class SendGridActivationDefaults(ActivationDefaults):
    """New activations export the segment to a contact list named after it, matched by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "list"
    identifier: IdentifierKind = IdentifierKind.EMAIL
