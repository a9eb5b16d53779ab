"""Meta Conversions API destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sluice.destinations.meta.config import GraphApiConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service

#: where the conversions happened (Meta's ``action_source``; required on every server event)
ActionSource = Literal[
    "website",
    "app",
    "email",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
]


class MetaCapiConfig(GraphApiConfig):
    """An access token and the pixel (dataset) that receives the events."""

    access_token: SecretStr = Field(
        description="Access token allowed to send events for the pixel (sent as 'Authorization: Bearer')."
    )
    pixel_id: str = Field(min_length=1, pattern=r"^[0-9]+$", description="Pixel (dataset) id.")
    action_source: ActionSource = Field(
        default="website",
        description="Where the conversions happened, unless a row maps its own 'action_source'. "
        "Physical store events may be up to 62 days old, all others up to 7 days.",
    )
    test_event_code: str | None = Field(
        default=None,
        description="Send to Events Manager's Test Events tab (code from that tab) instead of production.",
    )


class MetaCapiActivationDefaults(ActivationDefaults):
    """New activations send each new row of an events model once as a 'Purchase' server event."""

    service: Service = Service.EVENTS
    target_kind: str = "event"
    target_name_from: str = Field(
        default="activation_name", description="Name of the event: 'segment_name' or 'activation_name'."
    )
    identifier: IdentifierKind = IdentifierKind.EMAIL
