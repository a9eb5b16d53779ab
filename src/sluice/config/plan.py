"""Compare a config document with the store; list the changes; apply them through the services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.config import activation_objects as objects
from sluice.config.changes import ApplyContext, Change
from sluice.config.file import ConfigDocument, FieldDoc, ModelDoc, RelationshipDoc, SourceDoc
from sluice.config.identity_objects import identity_changes
from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput, NotFound
from sluice.models import service
from sluice.schemas.models import (
    FieldSpec,
    FieldUpdate,
    ModelCreate,
    ModelUpdate,
    RelationshipCreate,
    TableRef,
)
from sluice.store.tables.models import Model, ModelField, ModelRelationship
from sluice.store.tables.sources import Source
from sluice.store.tables.workspaces import Workspace
from sluice.warehouse.configs import build_config, public_config

# Changes run in phases: sources, models, column fields, relationships, calculated fields
# (then destinations, segments and activations: sluice.config.activation_objects).
SOURCES, MODELS, FIELDS, RELATIONSHIPS, CALCULATED = range(5)


def workspace_id_of(session: Session, slug: str) -> str:
    row = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if row is None:
        raise NotFound(f"workspace {slug!r} not found")
    return row.id


def make_plan(session: Session, box: SecretBox, doc: ConfigDocument) -> list[Change]:
    """Every change needed to make the store match ``doc`` (objects not in the file are kept)."""
    workspace_id = workspace_id_of(session, doc.workspace)
    changes: list[Change] = []
    for source in doc.sources:
        changes += _source_changes(session, box, workspace_id, source)
    for model in doc.models:
        changes += _model_changes(session, workspace_id, model)
    for graph in doc.identity_graphs:
        changes += identity_changes(session, workspace_id, graph)
    for destination in doc.destinations:
        changes += objects.destination_changes(session, box, workspace_id, destination)
    for segment in doc.segments:
        changes += objects.segment_changes(session, workspace_id, segment)
    for activation in doc.activations:
        changes += objects.activation_changes(
            session,
            workspace_id,
            activation,
            pending_segments={s.name for s in doc.segments},
            pending_destinations={d.name for d in doc.destinations},
        )
    return sorted(changes, key=lambda change: change.phase)


def apply_plan(ctx: ApplyContext, changes: list[Change]) -> None:
    """Run the changes in order (one transaction: all or nothing)."""
    for change in changes:
        change.run(ctx)
        ctx.session.flush()


def _source_changes(session: Session, box: SecretBox, workspace_id: str, doc: SourceDoc) -> list[Change]:
    config = build_config(doc.type, doc.config, doc.secrets)
    wanted = public_config(config)
    row = session.scalar(select(Source).where(Source.workspace_id == workspace_id, Source.name == doc.name))

    def write(ctx: ApplyContext) -> None:
        target = row or Source(workspace_id=ctx.workspace_id, name=doc.name, type=doc.type)
        target.config, target.description = wanted, doc.description
        target.introspection = None
        if doc.secrets:
            target.write_secrets(ctx.box, dict(doc.secrets))
        ctx.session.add(target)

    if row is None:
        return [Change(SOURCES, "create", "source", doc.name, doc.type, write)]
    if row.type != doc.type:
        raise InvalidInput(
            f"source {doc.name!r} is a {row.type} source; its type cannot change to {doc.type}"
        )
    current_secrets = row.read_secrets(box) if row.secrets_encrypted else {}
    differences = [
        key for key in sorted(set(wanted) | set(row.config)) if wanted.get(key) != row.config.get(key)
    ]
    differences += [
        f"secret {key}" for key, value in doc.secrets.items() if current_secrets.get(key) != value
    ]
    if doc.description != row.description:
        differences.append("description")
    if not differences:
        return []
    return [Change(SOURCES, "update", "source", doc.name, ", ".join(differences), write)]


def _model_changes(session: Session, workspace_id: str, doc: ModelDoc) -> list[Change]:
    row = session.scalar(select(Model).where(Model.workspace_id == workspace_id, Model.name == doc.name))
    table = TableRef(schema=doc.table.get("schema"), name=doc.table["name"]) if doc.table else None
    changes: list[Change] = []
    if row is None:

        def create(ctx: ApplyContext) -> None:
            source = ctx.source(doc.source)
            column_fields = [_spec(item) for item in doc.fields or [] if item.calculation is None]
            body = ModelCreate(
                name=doc.name,
                source_id=source.id,
                type=doc.type,
                description=doc.description,
                table=table,
                sql=doc.sql,
                primary_key=doc.primary_key,
                timestamp_field=doc.timestamp_field,
                fields=column_fields or None,
            )
            service.create_model(ctx.session, ctx.workspace_id, body, ctx.warehouse(source))

        what = f"table {doc.table['name']}" if doc.table else "SQL query"
        changes.append(Change(MODELS, "create", "model", doc.name, what, create))
        for item in doc.fields or []:
            if item.calculation is not None:
                changes.append(_add_field(doc.name, item))
        for rel in doc.relationships:
            changes.append(_create_relationship(doc.name, rel))
        return changes
    if row.primary_key != doc.primary_key and _field_column(row, row.primary_key) != doc.primary_key:
        raise InvalidInput(
            f"model {doc.name!r}: the primary key cannot change ({row.primary_key!r} → {doc.primary_key!r})"
        )
    changes += _model_update(row, doc, table)
    if doc.fields is not None:
        changes += _field_changes(row, doc)
    changes += _relationship_changes(session, row, doc)
    return changes


def _field_column(row: Model, name: str) -> str | None:
    return next((item.column for item in row.fields if item.name == name), None)


def _model_update(row: Model, doc: ModelDoc, table: TableRef | None) -> list[Change]:
    differences = []
    if row.type != doc.type.value:
        differences.append(f"type {row.type} → {doc.type.value}")
    if row.description != doc.description:
        differences.append("description")
    if (row.sql or None) != (doc.sql.strip().rstrip(";") if doc.sql else None):
        differences.append("sql")
    if table is not None and (
        row.table_name != table.name or (table.table_schema and row.table_schema != table.table_schema)
    ):
        differences.append(f"table {row.table_name} → {table.name}")
    wanted_stamp = doc.timestamp_field
    if (
        wanted_stamp
        and wanted_stamp != row.timestamp_field
        and _field_column(row, row.timestamp_field or "") != wanted_stamp
    ):
        differences.append("timestamp_field")
    if not differences:
        return []

    def update(ctx: ApplyContext) -> None:
        model = ctx.model(doc.name)
        source_changed = any(item.startswith(("sql", "table")) for item in differences)
        body = ModelUpdate(
            type=doc.type,
            description=doc.description,
            sql=doc.sql if source_changed else None,
            table=table if source_changed else None,
            timestamp_field=doc.timestamp_field,
        )
        warehouse = ctx.warehouse(ctx.source(doc.source)) if source_changed else None
        service.update_model(ctx.session, model, body, warehouse)

    return [Change(MODELS, "update", "model", doc.name, ", ".join(differences), update)]


def _spec(item: FieldDoc) -> FieldSpec:
    return item


def _add_field(model: str, item: FieldDoc) -> Change:
    def run(ctx: ApplyContext) -> None:
        row = ctx.model(model)
        service.add_field(ctx.session, row, _spec(item), ctx.warehouse(ctx.source_of(row)))

    phase = CALCULATED if item.calculation is not None else FIELDS
    return Change(
        phase, "create", "field", f"{model}.{item.name}", "calculated" if item.calculation else "", run
    )


def _field_changes(row: Model, doc: ModelDoc) -> list[Change]:
    stored = {item.name: item for item in row.fields}
    wanted = {item.name: item for item in doc.fields or []}
    changes = [_add_field(doc.name, item) for name, item in wanted.items() if name not in stored]
    for name, item in wanted.items():
        current = stored.get(name)
        if current is None:
            continue
        differences = _field_differences(current, item)
        if differences:
            changes.append(_update_field(doc.name, item, differences, current.calculation is not None))
    for name, current in stored.items():
        # Prediction fields belong to their predictor (sluice.predictions), not to the model's file.
        managed = (current.calculation or {}).get("kind") == "prediction"
        if name not in wanted and name != row.primary_key and not managed:
            changes.append(_delete_field(doc.name, name))
    return changes


def _field_differences(current: ModelField, item: FieldDoc) -> list[str]:
    found = []
    if item.column is not None and current.column != item.column:
        found.append(f"column {current.column} → {item.column}")
    if current.meaning != item.meaning:
        found.append("meaning")
    if current.categorical != item.categorical:
        found.append("categorical")
    if current.description != item.description:
        found.append("description")
    wanted_calc = item.calculation.model_dump(mode="json") if item.calculation else None
    if wanted_calc is not None and current.calculation != wanted_calc:
        found.append("calculation")
    return found


def _update_field(model: str, item: FieldDoc, differences: list[str], calculated: bool) -> Change:
    def run(ctx: ApplyContext) -> None:
        row = ctx.model(model)
        body = FieldUpdate(
            column=item.column if any(d.startswith("column") for d in differences) else None,
            meaning=item.meaning or "",
            categorical=item.categorical,
            description=item.description,
            calculation=item.calculation if "calculation" in differences else None,
        )
        needs_warehouse = body.column is not None or body.calculation is not None
        warehouse = ctx.warehouse(ctx.source_of(row)) if needs_warehouse else None
        service.update_field(ctx.session, row, item.name, body, warehouse)

    phase = CALCULATED if calculated else FIELDS
    return Change(phase, "update", "field", f"{model}.{item.name}", ", ".join(differences), run)


def _delete_field(model: str, name: str) -> Change:
    def run(ctx: ApplyContext) -> None:
        service.delete_field(ctx.session, ctx.model(model), name)

    return Change(FIELDS, "delete", "field", f"{model}.{name}", "", run)


def _create_relationship(model: str, rel: RelationshipDoc) -> Change:
    def run(ctx: ApplyContext) -> None:
        body = RelationshipCreate(
            name=rel.name or rel.to,
            kind=rel.kind,
            to_model_id=ctx.model(rel.to).id,
            from_field=rel.from_field,
            to_field=rel.to_field,
        )
        service.create_relationship(ctx.session, ctx.model(model), body)

    detail = f"{rel.kind.value} {rel.to} on {rel.from_field} = {rel.to_field}"
    return Change(RELATIONSHIPS, "create", "relationship", f"{model}.{rel.name or rel.to}", detail, run)


def _relationship_changes(session: Session, row: Model, doc: ModelDoc) -> list[Change]:
    stored = {
        rel.name: rel
        for rel in session.scalars(select(ModelRelationship).where(ModelRelationship.from_model_id == row.id))
    }
    changes: list[Change] = []
    wanted = {rel.name or rel.to: rel for rel in doc.relationships}
    for name, rel in wanted.items():
        current = stored.get(name)
        if current is not None and _same_relationship(session, current, rel):
            continue
        if current is not None:
            changes.append(_delete_relationship(doc.name, name, phase=RELATIONSHIPS))
        changes.append(_create_relationship(doc.name, rel))
    for name in stored:
        if name not in wanted:
            changes.append(_delete_relationship(doc.name, name, phase=RELATIONSHIPS))
    return changes


def _same_relationship(session: Session, current: ModelRelationship, rel: RelationshipDoc) -> bool:
    target = session.get(Model, current.to_model_id)
    source = session.get(Model, current.from_model_id)
    if target is None or source is None or target.name != rel.to or current.kind != rel.kind.value:
        return False
    from_ok = rel.from_field in (current.from_field, _field_column(source, current.from_field))
    to_ok = rel.to_field in (current.to_field, _field_column(target, current.to_field))
    return from_ok and to_ok


def _delete_relationship(model: str, name: str, *, phase: int) -> Change:
    def run(ctx: ApplyContext) -> None:
        row = ctx.model(model)
        rel = ctx.session.scalar(
            select(ModelRelationship).where(
                ModelRelationship.from_model_id == row.id, ModelRelationship.name == name
            )
        )
        if rel is not None:
            ctx.session.delete(rel)
            ctx.session.flush()

    return Change(phase, "delete", "relationship", f"{model}.{name}", "", run)
