"""Voyado Engage destination config (its JSON Schema is the UI form).

Label assignment is **not in Voyado's public API reference**: its three paths are settings here
(``label_api``), with defaults that match the shape the local emulator serves. Check them against
your tenant's Swagger page (``https://<tenant>.voyado.com/api/v2/ui/index``) before going live.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sluice.destinations.sdk import ActivationDefaults, DestinationConfig, IdentifierKind, Service


class VoyadoLabelApi(BaseModel):
    """Paths of the label endpoints (configurable: not publicly documented by Voyado)."""

    model_config = ConfigDict(extra="forbid")

    list_labels: str = Field(default="/api/v3/labels", description="GET → [{id, name}] (configurable).")
    assign: str = Field(
        default="/api/v3/contacts/{contactId}/labels",
        description="POST {labelId} assigns a label to a contact (configurable).",
    )
    unassign: str = Field(
        default="/api/v3/contacts/{contactId}/labels/{labelId}",
        description="DELETE removes a label from a contact (configurable).",
    )


class VoyadoConfig(DestinationConfig):
    """Tenant, API key and the label endpoints of your tenant."""

    tenant: str = Field(min_length=1, description="Your Engage tenant: https://<tenant>.voyado.com")
    staging: bool = Field(default=False, description="Use https://<tenant>.staging.voyado.com")
    api_key: SecretStr = Field(
        description="API key from Engage → Configure → API connections (header apikey)."
    )
    user_agent: str = Field(
        default="Sluice/0.1", description="User-Agent Voyado asks every integration to send."
    )
    label_api: VoyadoLabelApi = Field(
        default_factory=VoyadoLabelApi,
        description="Label endpoints. NOT in Voyado's public API reference: confirm them on your tenant's Swagger page.",
    )
    requests_per_second: float = Field(
        default=50, gt=0, le=200, description="Pace of requests (Voyado: keep ≤ 50/s; 429 above 200/s)."
    )
    base_url: str | None = Field(default=None, description="Override of the tenant URL (local emulator).")


class VoyadoActivationDefaults(ActivationDefaults):
    """New activations keep a label in step, matching contacts by contactId (recommended)."""

    service: Service = Service.MEMBERSHIP
    target_kind: str = "label"
    identifier: IdentifierKind = IdentifierKind.PLATFORM_ID
