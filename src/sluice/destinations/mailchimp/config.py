"""Mailchimp destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class MailchimpConfig(DestinationConfig):
    """An API key and the audience (contact list) the static segments belong to."""

    api_key: SecretStr = Field(
        description="Mailchimp API key; its suffix after the last '-' (e.g. us14) is the data center."
    )
    list_id: str = Field(
        min_length=1,
        description="Audience (list) id. Mailchimp segments belong to one audience and can only "
        "contain contacts that already exist in it.",
    )
    base_url: str | None = Field(
        default=None,
        description="Override of https://<dc>.api.mailchimp.com/3.0 (for the local emulator).",
    )


class MailchimpActivationDefaults(ActivationDefaults):
    """New activations create a static segment named after the segment, keyed by email."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "static_segment"
    identifier: IdentifierKind = IdentifierKind.EMAIL
