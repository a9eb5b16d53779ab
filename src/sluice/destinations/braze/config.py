"""Braze destination config (its JSON Schema is the UI form)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class BrazeConfig(DestinationConfig):
    """A REST API key and the REST endpoint of the Braze instance it belongs to."""

    api_key: SecretStr = Field(
        description="Braze REST API key (Authorization: Bearer). Permissions: users.track, users.delete, "
        "subscription.status.set, custom_attributes.get, events.list."
    )
    rest_endpoint: str = Field(
        default="https://rest.iad-01.braze.com",
        pattern=r"^https?://",
        description="REST endpoint of your instance, e.g. https://rest.iad-01.braze.com or https://rest.fra-01.braze.eu.",
    )
    membership_attribute_prefix: str = Field(
        default="sluice_",
        max_length=40,
        description="Prefix of the boolean custom attribute that marks members of a segment "
        "(sluice_<segment name>).",
    )
    segments_array_attribute: str = Field(
        default="sluice_segments",
        min_length=1,
        max_length=255,
        description="Array custom attribute listing the segments a user is in (target kind segments_array).",
    )
    create_users: bool = Field(
        default=True,
        description="Upserts and events create Braze profiles for users that do not exist yet (Braze's "
        "default). Turn off to send _update_existing_only: unknown users are then rejected. Segment "
        "membership never creates users.",
    )
    requests_per_second: float = Field(
        default=1000, gt=0, le=1000, description="Pace of /users/track calls (Braze: 3,000 per 3 seconds)."
    )


class BrazeActivationDefaults(ActivationDefaults):
    """New activations mark segment members with a boolean custom attribute, matched by external id."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "attribute"
    identifier: IdentifierKind = IdentifierKind.EXTERNAL_ID
