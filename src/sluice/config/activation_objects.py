"""Destinations, segments and activations in ``sluice.yaml``: compare with the store, plan, apply.

Objects are matched by name, like sources and models. Everything goes through the same checks as
the API: a destination's config and secrets through its type's form, a segment's tree through
the segment checker, an activation through its reference, target, mapping and schedule checks.
Secrets are compared after decryption and never printed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.config.changes import ApplyContext, Change
from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput, NotFound
from sluice.destinations import registry
from sluice.destinations import service as destination_service
from sluice.schemas.activations import ActivationBase, ActivationCreate, ActivationUpdate
from sluice.schemas.schedules import SCHEDULE_ADAPTER, parse_schedule
from sluice.schemas.segments import SegmentDefinition
from sluice.segments import service as segment_service
from sluice.segments.remote_sources import check_refresh_schedule, check_remote_source
from sluice.segments.service import spec_of
from sluice.store.tables.activations import Activation
from sluice.store.tables.destinations import Destination
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment
from sluice.sync.activations import create_activation, update_activation

# Phases after sources and models (see sluice.config.plan): destinations, segments, activations.
DESTINATIONS, SEGMENTS, ACTIVATIONS = 10, 11, 12


class DestinationDoc(BaseModel):
    """A destination in the file; ``secrets`` only as ``${ENV_VAR}`` references."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, description="Only ${ENV_VAR} references.")
    activation_defaults: dict[str, Any] | None = None


class RemoteDoc(BaseModel):
    """Where a remote segment's members come from: a destination by name and the remote object."""

    model_config = ConfigDict(extra="forbid")

    destination: str = Field(description="Name of the destination the members are read from.")
    remote_id: str = Field(min_length=1, description="The segment's (tag's, list's…) id in the destination.")
    identifier_field: str = Field(description="Field of the model holding the shared identifier.")
    remote_kind: str | None = None
    remote_identifier: Literal["email", "external_id", "platform_id", "phone"] = "email"


class SegmentDoc(BaseModel):
    """A segment in the file over a model named ``model``: a condition tree (the API's definition
    shape), or with ``type: remote`` a remote segment (``remote`` and ``refresh_schedule``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model: str = Field(description="Name of the parent model.")
    description: str = ""
    type: Literal["conditions", "remote"] = "conditions"
    definition: SegmentDefinition = Field(default_factory=SegmentDefinition)
    remote: RemoteDoc | None = None
    refresh_schedule: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _matches_type(self) -> SegmentDoc:
        if (self.type == "remote") != (self.remote is not None):
            raise ValueError("a segment has remote exactly when its type is 'remote'")
        if self.type == "conditions" and self.refresh_schedule is not None:
            raise ValueError("refresh_schedule is only for remote segments")
        return self


class ActivationDoc(ActivationBase):
    """An activation in the file: segment and destination by name, the rest as in the API."""

    model_config = ConfigDict(extra="forbid")

    name: str
    segment: str = Field(description="Name of the segment.")
    destination: str = Field(description="Name of the destination.")


def _by_name(session: Session, table: Any, workspace_id: str, name: str) -> Any:
    return session.scalar(select(table).where(table.workspace_id == workspace_id, table.name == name))


def _id_by_name(
    session: Session, table: Any, workspace_id: str, name: str, what: str, pending: set[str]
) -> str:
    row = _by_name(session, table, workspace_id, name)
    if row is not None:
        return str(row.id)
    if name in pending:
        return ""  # created earlier in the same apply; resolved again when the change runs
    raise NotFound(f"{what} {name!r} not found (neither in the workspace nor in the file)")


def destination_changes(
    session: Session, box: SecretBox, workspace_id: str, doc: DestinationDoc
) -> list[Change]:
    """Changes for one destination (config and secrets checked against its type's form now)."""
    _, public, secrets = destination_service.validate_config(doc.type, doc.config, doc.secrets)
    defaults = destination_service.validate_defaults(doc.type, doc.activation_defaults)
    type_name = registry.get(doc.type).type_name
    row = _by_name(session, Destination, workspace_id, doc.name)

    def write(ctx: ApplyContext) -> None:
        target = _by_name(ctx.session, Destination, ctx.workspace_id, doc.name)
        if target is None:
            target = Destination(workspace_id=ctx.workspace_id, name=doc.name, type=type_name)
            ctx.session.add(target)
        target.description = doc.description
        target.config = public
        target.activation_defaults = defaults
        target.write_secrets(ctx.box, secrets)

    if row is None:
        return [Change(DESTINATIONS, "create", "destination", doc.name, type_name, write)]
    if row.type != type_name:
        raise InvalidInput(f"destination {doc.name!r}: its type cannot change ({row.type} → {type_name})")
    differences = [
        name
        for name, now, wanted in (
            ("description", row.description, doc.description),
            ("config", row.config, public),
            ("activation_defaults", row.activation_defaults, defaults),
            ("secrets", row.read_secrets(box) if row.secrets_encrypted else {}, secrets),
        )
        if now != wanted
    ]
    if not differences:
        return []
    return [Change(DESTINATIONS, "update", "destination", doc.name, ", ".join(differences), write)]


def _remote_of(session: Session, workspace_id: str, doc: SegmentDoc) -> dict[str, Any] | None:
    """The stored form of a remote source (destination id resolved by name)."""
    if doc.remote is None:
        return None
    destination = _by_name(session, Destination, workspace_id, doc.remote.destination)
    return {
        "destination_id": destination.id if destination is not None else "",
        **doc.remote.model_dump(mode="json", exclude={"destination"}),
    }


def _normal_schedule(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A schedule as the store keeps it (defaults filled in), for comparison; None stays None."""
    if value is None:
        return None
    try:
        normal: dict[str, Any] = SCHEDULE_ADAPTER.dump_python(
            parse_schedule(value), mode="json", exclude_none=True
        )
    except ValidationError:
        return value  # reported with its reasons when the change is applied
    return normal


def _with_segment_ids(session: Session, workspace_id: str, node: Any) -> Any:
    """A definition whose membership conditions may name segments: names become ids."""
    if isinstance(node, list):
        return [_with_segment_ids(session, workspace_id, item) for item in node]
    if not isinstance(node, dict):
        return node
    resolved = {key: _with_segment_ids(session, workspace_id, value) for key, value in node.items()}
    if resolved.get("kind") == "segment" and isinstance(resolved.get("segment_id"), str):
        named = _by_name(session, Segment, workspace_id, resolved["segment_id"])
        if named is not None:
            resolved["segment_id"] = named.id
    return resolved


def segment_changes(session: Session, workspace_id: str, doc: SegmentDoc) -> list[Change]:
    """Changes for one segment (checked against its model, and its destination, when applied).

    Membership conditions may name another segment (``segment_id: <name>``) instead of its id.
    """
    row = _by_name(session, Segment, workspace_id, doc.name)

    def definition_in(session: Session, workspace_id: str) -> dict[str, Any] | None:
        if doc.type != "conditions":
            return None
        resolved: dict[str, Any] = _with_segment_ids(
            session, workspace_id, doc.definition.model_dump(mode="json")
        )
        return resolved

    definition = definition_in(session, workspace_id)

    def write(ctx: ApplyContext) -> None:
        model = _by_name(ctx.session, Model, ctx.workspace_id, doc.model)
        if model is None:
            raise NotFound(f"segment {doc.name!r}: model {doc.model!r} not found")
        target = _by_name(ctx.session, Segment, ctx.workspace_id, doc.name)
        if target is None:
            target = Segment(workspace_id=ctx.workspace_id, name=doc.name, model_id=model.id, type=doc.type)
            ctx.session.add(target)
        target.description = doc.description
        target.definition = definition_in(ctx.session, ctx.workspace_id)
        remote = _remote_of(ctx.session, ctx.workspace_id, doc)
        if doc.remote is not None and remote is not None and not remote["destination_id"]:
            raise NotFound(f"segment {doc.name!r}: destination {doc.remote.destination!r} not found")
        target.remote = remote
        target.refresh_schedule = (
            check_refresh_schedule(ctx.session, ctx.workspace_id, doc.refresh_schedule)
            if doc.type == "remote"
            else None
        )
        ctx.session.flush()
        spec = spec_of(target, model.name)
        if spec.remote is not None:
            check_remote_source(ctx.session, ctx.workspace_id, model, spec.remote, ctx.box)
        segment_service.check_segment(ctx.session, ctx.workspace_id, model, spec)

    if row is None:
        return [Change(SEGMENTS, "create", "segment", doc.name, f"{doc.type} over {doc.model}", write)]
    model = session.get(Model, row.model_id)
    if model is not None and model.name != doc.model:
        raise InvalidInput(f"segment {doc.name!r}: its model cannot change ({model.name} → {doc.model})")
    if row.type != doc.type:
        raise InvalidInput(
            f"segment {doc.name!r} is a {row.type} segment; its type cannot change to {doc.type}"
        )
    wanted_schedule = _normal_schedule(doc.refresh_schedule) if doc.type == "remote" else None
    differences = [
        name
        for name, now, wanted in (
            ("description", row.description, doc.description),
            ("definition", row.definition, definition),
            ("remote", row.remote, _remote_of(session, workspace_id, doc)),
            ("refresh_schedule", row.refresh_schedule, wanted_schedule),
        )
        if now != wanted
    ]
    if not differences:
        return []
    return [Change(SEGMENTS, "update", "segment", doc.name, ", ".join(differences), write)]


def activation_changes(
    session: Session,
    workspace_id: str,
    doc: ActivationDoc,
    *,
    pending_segments: set[str],
    pending_destinations: set[str],
) -> list[Change]:
    """Changes for one activation (its references may be created by the same apply)."""
    _id_by_name(session, Segment, workspace_id, doc.segment, "segment", pending_segments)
    _id_by_name(session, Destination, workspace_id, doc.destination, "destination", pending_destinations)
    body = doc.model_dump(mode="json", exclude={"name", "segment", "destination"})
    row = _by_name(session, Activation, workspace_id, doc.name)

    def create(ctx: ApplyContext) -> None:
        segment_id = _id_by_name(ctx.session, Segment, ctx.workspace_id, doc.segment, "segment", set())
        destination_id = _id_by_name(
            ctx.session, Destination, ctx.workspace_id, doc.destination, "destination", set()
        )
        create_activation(
            ctx.session,
            ctx.workspace_id,
            ActivationCreate.model_validate(
                {**body, "name": doc.name, "segment_id": segment_id, "destination_id": destination_id}
            ),
        )

    if row is None:
        return [
            Change(
                ACTIVATIONS, "create", "activation", doc.name, f"{doc.segment} → {doc.destination}", create
            )
        ]
    current_segment = session.get(Segment, row.segment_id)
    current_destination = session.get(Destination, row.destination_id)
    if (current_segment and current_segment.name != doc.segment) or (
        current_destination and current_destination.name != doc.destination
    ):
        raise InvalidInput(
            f"activation {doc.name!r}: its segment and destination cannot change; create a new activation"
        )
    current = {
        "description": row.description,
        "service": row.service,
        "target": row.target,
        "identifier": row.identifier,
        "mapping": row.mapping,
        "schedule": row.schedule,
        "settings": row.settings,
        "enabled": row.enabled,
    }
    wanted = ActivationUpdate.model_validate({k: body[k] for k in current if k != "service"}).model_dump(
        mode="json"
    )
    differences = [
        name
        for name in current
        if name != "service" and _normalised(current[name]) != _normalised(wanted[name])
    ]
    if body["service"] != row.service:
        raise InvalidInput(
            f"activation {doc.name!r}: its service cannot change ({row.service} → {body['service']})"
        )
    if not differences:
        return []

    def update(ctx: ApplyContext) -> None:
        activation = _by_name(ctx.session, Activation, ctx.workspace_id, doc.name)
        update_activation(
            ctx.session, activation, ActivationUpdate.model_validate({k: body[k] for k in differences})
        )

    return [Change(ACTIVATIONS, "update", "activation", doc.name, ", ".join(differences), update)]


def _normalised(value: Any) -> Any:
    """Stored JSON compared with the file's: target fields the store fills in (found ids) are ignored."""
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items() if k not in ("id", "parent_id") and v is not None}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return value
