"""Activation service: create, update and describe activations; what a change means for the snapshot.

A snapshot describes what one target holds. Changing the service, target or identifier kind makes
it meaningless, so the pointer is reset (the next run sends the whole audience to the new target).
Changing the mapping keeps the pointer but changes the *signature*: the next run re-sends every
row's fields once (ADR 0002).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict
from sluice.schemas.activations import ActivationCreate, ActivationOut, ActivationUpdate, RunSummary
from sluice.store.tables.activations import Activation, Run
from sluice.sync.diff import HASH_ALGORITHM
from sluice.sync.references import check_activation


def mapping_signature(activation: Activation, hash_algorithm: str = HASH_ALGORITHM) -> str:
    """Fingerprint of what the snapshot's hashes were computed over (and how)."""
    payload = {
        "identifier": activation.identifier,
        "mapping": sorted((m["source"], m["destination"]) for m in activation.mapping),
        "hash": hash_algorithm,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def create_activation(session: Session, workspace_id: str, body: ActivationCreate) -> Activation:
    """Check and store a new activation (see :func:`sluice.sync.references.check_activation`)."""
    activation = Activation(
        workspace_id=workspace_id,
        name=body.name,
        description=body.description,
        segment_id=body.segment_id,
        destination_id=body.destination_id,
        service=body.service,
        target=body.target.model_dump(mode="json"),
        identifier=body.identifier.model_dump(mode="json"),
        mapping=[m.model_dump(mode="json") for m in body.mapping],
        schedule=body.schedule,
        settings=body.settings.model_dump(mode="json"),
        enabled=body.enabled,
    )
    check_activation(session, activation)
    session.add(activation)
    flush_unique_name(session, body.name)
    return activation


def update_activation(session: Session, activation: Activation, body: ActivationUpdate) -> Activation:
    """Apply a partial update; reset the snapshot when the target or identifier kind changes."""
    changes = body.model_dump(exclude_unset=True, mode="json")
    resets = False
    if "target" in changes and _target_identity(changes["target"]) != _target_identity(activation.target):
        resets = True
    if "identifier" in changes and changes["identifier"].get("kind") != activation.identifier.get("kind"):
        resets = True
    for name, value in changes.items():
        if value is not None:
            setattr(activation, name, value)
    check_activation(session, activation)
    if resets:
        activation.snapshot_uri = None
        activation.snapshot_rows = 0
        activation.snapshot_signature = None
    flush_unique_name(session, activation.name)
    return activation


def describe(session: Session, activation: Activation) -> ActivationOut:
    """The API view of an activation, with its latest run."""
    last = session.scalars(
        select(Run).where(Run.activation_id == activation.id).order_by(Run.id.desc()).limit(1)
    ).first()
    out = ActivationOut.model_validate(activation)
    out.last_run = RunSummary.model_validate(last) if last is not None else None
    return out


def flush_unique_name(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"an activation named '{name}' already exists in this workspace") from None


def _target_identity(target: dict[str, Any]) -> tuple[Any, ...]:
    return (target.get("kind"), target.get("id"), target.get("parent_id"))
