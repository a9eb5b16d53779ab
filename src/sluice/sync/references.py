"""Checks an activation must pass when saved: its segment, destination, service, target, fields, schedule.

Every failure is an :class:`InvalidInput` naming what to change, so the API and config-as-code
show the same sentence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.core.errors import InvalidInput, NotFound
from sluice.destinations import registry
from sluice.jobs.scheduler import validate_schedule
from sluice.models.catalog import FieldType
from sluice.store.scoped import get_scoped
from sluice.store.tables.activations import Activation
from sluice.store.tables.destinations import Destination
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment
from sluice.sync.audience import IdentifierKind

# Field types an identifier of each kind can come from.
IDENTIFIER_FIELD_TYPES = {
    IdentifierKind.EMAIL: {FieldType.STRING},
    IdentifierKind.PHONE: {FieldType.STRING},
    IdentifierKind.HASHED: {FieldType.STRING},
    IdentifierKind.EXTERNAL_ID: {FieldType.STRING, FieldType.INTEGER, FieldType.DECIMAL},
    IdentifierKind.PLATFORM_ID: {FieldType.STRING, FieldType.INTEGER, FieldType.DECIMAL},
}


def check_activation(session: Session, activation: Activation) -> None:
    """Raise :class:`InvalidInput` with a user message when ``activation`` cannot run as saved."""
    workspace_id = activation.workspace_id
    segment = _lookup(session, Segment, activation.segment_id, workspace_id, "segment")
    model = get_scoped(session, Model, segment.model_id, workspace_id, "model")
    destination = _lookup(session, Destination, activation.destination_id, workspace_id, "destination")
    connector = registry.get(destination.type)
    capabilities = connector.capabilities
    if activation.service not in capabilities.services:
        offered = ", ".join(sorted(capabilities.services))
        raise InvalidInput(
            f"{connector.title} does not offer the {activation.service} service (it offers: {offered})"
        )
    _check_target(activation.target, connector.title, capabilities)
    fields = {field.name: FieldType(field.type) for field in model.fields}
    identifier_field = activation.identifier.get("field", "")
    kind = IdentifierKind(activation.identifier.get("kind", IdentifierKind.EMAIL))
    if identifier_field not in fields:
        raise InvalidInput(f"map the identifier: model '{model.name}' has no field '{identifier_field}'")
    if kind not in capabilities.identifiers:
        accepted = ", ".join(sorted(capabilities.identifiers))
        raise InvalidInput(f"{connector.title} does not match contacts by {kind} (it accepts: {accepted})")
    if fields[identifier_field] not in IDENTIFIER_FIELD_TYPES[kind]:
        raise InvalidInput(
            f"field '{identifier_field}' is {fields[identifier_field]}, it can not hold a {kind} identifier"
        )
    missing = [m["source"] for m in activation.mapping if m["source"] not in fields]
    if missing:
        raise InvalidInput(f"model '{model.name}' has no field {', '.join(repr(m) for m in missing)} to map")
    activation.schedule = validate_schedule(
        session, workspace_id, activation.schedule, activation_id=activation.id
    )


def _check_target(target: dict[str, Any], title: str, capabilities: Any) -> None:
    kind = target.get("kind", "")
    if kind not in capabilities.target_kinds:
        kinds = ", ".join(sorted(capabilities.target_kinds))
        raise InvalidInput(f"{title} has no target kind '{kind}' (choose one of: {kinds})")
    if not target.get("id"):
        if not target.get("create_if_missing"):
            raise InvalidInput("choose an existing target, or allow Sluice to create it")
        if not capabilities.can_create_targets:
            raise InvalidInput(f"{title} targets can not be created by Sluice: choose an existing one")
        if not (target.get("name") or "").strip():
            raise InvalidInput("give the target to create a name")


def _lookup(session: Session, table: Any, object_id: str, workspace_id: str, what: str) -> Any:
    try:
        return get_scoped(session, table, object_id, workspace_id, what)
    except NotFound:
        raise InvalidInput(f"the {what} '{object_id}' does not exist in this workspace") from None
