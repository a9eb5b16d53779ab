"""Source schema alteration: find fields whose column was dropped, renamed or retyped.

The check compares each column field with the source's current columns, records the reason on the
field (``broken_reason``; cleared when the column is back) and lists what uses a broken field.
The user repairs a model by relinking the field to another column or by dropping it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.core.errors import SluiceError
from sluice.models.catalog import FieldType
from sluice.models.service import field_usages, model_relation
from sluice.store.base import utcnow
from sluice.store.tables.models import Model
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.type_names import field_type, join_compatible


@dataclass(frozen=True)
class BrokenFieldReport:
    field: str
    column: str | None
    reason: str
    suggestion: str | None = None


@dataclass(frozen=True)
class SchemaCheck:
    model_id: str
    checked_at: datetime
    broken: list[BrokenFieldReport] = field(default_factory=list)
    affected: list[tuple[str, str, str]] = field(default_factory=list)


def check_model_schema(session: Session, model: Model, warehouse: Warehouse) -> SchemaCheck:
    """Compare ``model`` with its source now; mark broken fields and return the report."""
    try:
        current = dict(model_relation(model, warehouse).schema().items())
        missing_source = None
    except SluiceError as exc:
        if exc.details.get("kind") in ("unreachable_host", "bad_credentials", "in_use"):
            raise
        current, missing_source = {}, exc.message
    mapped = {item.column for item in model.fields if item.column}
    broken: list[BrokenFieldReport] = []
    for item in model.fields:
        if item.calculation is not None or item.column is None:
            continue
        reason = None
        suggestion = None
        if missing_source is not None:
            reason = f"the model's table or query cannot be read: {missing_source}"
        elif item.column not in current:
            reason = f"column {item.column!r} no longer exists in the source"
            candidates = [
                name
                for name, dtype in current.items()
                if name not in mapped and field_type(dtype).value == item.type
            ]
            if candidates:
                suggestion = f"renamed to {candidates[0]!r}? relink the field to it"
        else:
            now = field_type(current[item.column])
            if now.value != item.type and not join_compatible(now, FieldType(item.type)):
                reason = f"column {item.column!r} changed type from {item.type} to {now.value}"
        item.broken_reason = reason
        if reason:
            broken.append(BrokenFieldReport(item.name, item.column, reason, suggestion))
    affected = [
        (kind, name, f"uses broken field {model.name}.{report.field}")
        for report in broken
        for kind, name in field_usages(session, model, report.field)
    ]
    _flag_dependents(session, model, affected)
    model.schema_checked_at = utcnow()
    session.flush()
    return SchemaCheck(model.id, model.schema_checked_at, broken, affected)


def _flag_dependents(session: Session, model: Model, affected: list[tuple[str, str, str]]) -> None:
    """Mark calculated fields that read a broken field (and unmark those that no longer do)."""
    reasons = {name: reason for kind, name, reason in affected if kind == "calculated_field"}
    others = session.scalars(select(Model).where(Model.source_id == model.source_id))
    for other in others:
        for item in other.fields:
            if item.calculation is None:
                continue
            key = item.name if other.id == model.id else f"{other.name}.{item.name}"
            if key in reasons:
                item.broken_reason = reasons[key]
            elif (item.broken_reason or "").endswith(f"broken field {model.name}.{item.name}") or (
                item.broken_reason or ""
            ).startswith(f"uses broken field {model.name}."):
                item.broken_reason = None


def check_source_models(
    session: Session, workspace_id: str, source_id: str, warehouse: Warehouse
) -> list[SchemaCheck]:
    """Check every model of a source (the scheduled probe and the pre-run check use this)."""
    models = session.scalars(
        select(Model).where(Model.workspace_id == workspace_id, Model.source_id == source_id)
    )
    return [check_model_schema(session, model, warehouse) for model in models]
