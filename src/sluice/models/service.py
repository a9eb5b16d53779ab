"""Creating and changing models, fields and relationships, with the checks a user relies on.

Routers, the CLI (config as code) and the demo seeding all go through these functions.
"""

from __future__ import annotations

from typing import Any

import ibis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict, InvalidInput
from sluice.models.calculations import RelatedAggregate, RowExpression
from sluice.models.catalog import FieldType, ModelType, RelationshipKind
from sluice.models.stored import StoredCatalog, load_definitions
from sluice.schemas.models import (
    FieldSpec,
    FieldUpdate,
    ModelCreate,
    ModelUpdate,
    RelationshipCreate,
    TableRef,
)
from sluice.store.scoped import get_scoped
from sluice.store.tables.models import Model, ModelField, ModelRelationship
from sluice.store.tables.sources import Source
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.sql_guard import check_read_only
from sluice.warehouse.type_names import field_type, join_compatible

TIME_TYPES = (FieldType.TIMESTAMP, FieldType.DATE)


def source_relation(warehouse: Warehouse, table: TableRef | None, sql: str | None) -> ibis.Table:
    """The table or query a model reads, as an Ibis table with source column names."""
    if (table is None) == (sql is None):
        raise InvalidInput("a model reads either a table or a SQL query: give exactly one of table, sql")
    if sql is not None:
        check_read_only(sql, warehouse.dialect)
        return warehouse.query(sql)
    assert table is not None
    return warehouse.table(table.table_schema, table.name)


def catalog_for(session: Session, workspace_id: str, source_id: str, warehouse: Warehouse) -> StoredCatalog:
    """A catalog over the source's models as currently flushed in ``session``."""
    session.flush()
    stored = load_definitions(session, workspace_id, source_id)
    return StoredCatalog(warehouse=warehouse, definitions=stored.definitions, links=stored.links)


def create_model(session: Session, workspace_id: str, body: ModelCreate, warehouse: Warehouse) -> Model:
    """Create a model; fields default to every column with detected types."""
    get_scoped(session, Source, body.source_id, workspace_id, "source")
    relation = source_relation(warehouse, body.table, body.sql)
    columns = dict(relation.schema().items())
    specs = body.fields or [FieldSpec(name=_field_name(name), column=name) for name in columns]
    model = Model(
        workspace_id=workspace_id,
        source_id=body.source_id,
        name=body.name,
        description=body.description,
        type=body.type.value,
        table_schema=(body.table.table_schema or warehouse.default_schema) if body.table else None,
        table_name=body.table.name if body.table else None,
        sql=body.sql.strip().rstrip(";") if body.sql else None,
        primary_key=body.primary_key,
        timestamp_field=body.timestamp_field,
    )
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInput(f"field {duplicates[0]!r} is listed twice")
    for position, spec in enumerate(spec for spec in specs if spec.calculation is None):
        model.fields.append(_column_field(model, spec, columns, position))
    model.primary_key = _field_for(model, body.primary_key) or body.primary_key
    if body.timestamp_field:
        model.timestamp_field = _field_for(model, body.timestamp_field) or body.timestamp_field
    _check_keys(model)
    session.add(model)
    _flush(session, f"a model named {body.name!r} already exists in this workspace")
    for spec in (spec for spec in specs if spec.calculation is not None):
        add_field(session, model, spec, warehouse)
    return model


def _field_for(model: Model, name: str) -> str | None:
    """The field called ``name``, or else the field reading column ``name``."""
    if any(item.name == name for item in model.fields):
        return name
    return next((item.name for item in model.fields if item.column == name), None)


def _field_name(column: str) -> str:
    cleaned = "".join(char if char.isalnum() or char == "_" else "_" for char in column.lower())
    return cleaned if cleaned and not cleaned[0].isdigit() else f"c_{cleaned}"


def _column_field(model: Model, spec: FieldSpec, columns: dict[str, Any], position: int) -> ModelField:
    column = spec.column or spec.name
    if column not in columns:
        where = f"{model.table_schema}.{model.table_name}" if model.table_name else "the query's result"
        raise InvalidInput(
            f"unknown column {column!r} in {where}; columns: {', '.join(columns)}",
            column=column,
        )
    taken = next(
        (item.name for item in model.fields if item.column == column and item.name != spec.name), None
    )
    if taken is not None:
        raise InvalidInput(
            f"column {column!r} is already the source of field {taken!r}; a column feeds one field"
        )
    detected = field_type(columns[column])
    return ModelField(
        workspace_id=model.workspace_id,
        name=spec.name,
        column=column,
        type=(spec.type or detected).value,
        meaning=spec.meaning,
        categorical=spec.categorical,
        description=spec.description,
        position=position,
    )


def _check_keys(model: Model) -> None:
    fields = {item.name: item for item in model.fields}
    key = fields.get(model.primary_key)
    if key is None or key.calculation is not None:
        raise InvalidInput(f"primary key {model.primary_key!r} must be one of the model's column fields")
    if model.type == ModelType.EVENTS and not model.timestamp_field:
        raise InvalidInput("an events model needs a timestamp field (timestamp_field)")
    if model.timestamp_field:
        stamp = fields.get(model.timestamp_field)
        if stamp is None:
            raise InvalidInput(f"timestamp field {model.timestamp_field!r} is not a field of the model")
        if FieldType(stamp.type) not in TIME_TYPES:
            raise InvalidInput(
                f"timestamp field {model.timestamp_field!r} is a {stamp.type}, not a timestamp or date"
            )


def update_model(session: Session, model: Model, body: ModelUpdate, warehouse: Warehouse | None) -> Model:
    """Rename, retype or re-point a model. The primary key cannot change."""
    if body.primary_key is not None and body.primary_key != model.primary_key:
        raise Conflict(
            f"the primary key of a model cannot be changed (it is {model.primary_key!r}); "
            "create a new model to use another key",
            field="primary_key",
        )
    if body.sql is not None or body.table is not None:
        if warehouse is None:
            raise InvalidInput("changing the model's query needs a connection to the source")
        relation = source_relation(warehouse, body.table, body.sql)
        columns = set(relation.columns)
        missing = [item.name for item in model.fields if item.column and item.column not in columns]
        if model.primary_key in missing:
            raise InvalidInput(f"the new query has no column for the primary key {model.primary_key!r}")
        model.sql = body.sql.strip().rstrip(";") if body.sql else None
        model.table_schema = (body.table.table_schema or warehouse.default_schema) if body.table else None
        model.table_name = body.table.name if body.table else None
    for name in ("name", "description", "timestamp_field"):
        value = getattr(body, name)
        if value is not None:
            setattr(model, name, value)
    if body.type is not None:
        model.type = body.type.value
    _check_keys(model)
    _flush(session, f"a model named {model.name!r} already exists in this workspace")
    return model


def add_field(session: Session, model: Model, spec: FieldSpec, warehouse: Warehouse) -> ModelField:
    """Add a column or calculated field (checked against the warehouse)."""
    if any(item.name == spec.name for item in model.fields):
        raise Conflict(f"model {model.name!r} already has a field {spec.name!r}")
    position = max((item.position for item in model.fields), default=-1) + 1
    if spec.calculation is None:
        relation = model_relation(model, warehouse)
        row = _column_field(model, spec, dict(relation.schema().items()), position)
        model.fields.append(row)
        session.flush()
        return row
    row = ModelField(
        workspace_id=model.workspace_id,
        name=spec.name,
        type=FieldType.STRING.value,
        calculation=spec.calculation.model_dump(mode="json"),
        meaning=spec.meaning,
        categorical=spec.categorical,
        description=spec.description,
        position=position,
    )
    model.fields.append(row)
    row.type = (spec.type or calculated_type(session, model, row.name, warehouse)).value
    session.flush()
    return row


def calculated_type(session: Session, model: Model, name: str, warehouse: Warehouse) -> FieldType:
    """Check a calculated field by compiling it, and return its detected type."""
    catalog = catalog_for(session, model.workspace_id, model.source_id, warehouse)
    table = catalog.table(model.name, fields=[name])
    warehouse.compile(table.limit(0))
    return field_type(table.schema()[name])


def model_relation(model: Model, warehouse: Warehouse) -> ibis.Table:
    table = TableRef(schema=model.table_schema, name=model.table_name) if model.table_name else None
    return source_relation(warehouse, table, model.sql)


def update_field(
    session: Session, model: Model, name: str, body: FieldUpdate, warehouse: Warehouse | None
) -> ModelField:
    """Rename, relink (repair), re-mean or re-flag a field. The primary key field cannot be renamed."""
    row = find_field(model, name)
    if body.name is not None and body.name != row.name:
        if row.name == model.primary_key:
            raise Conflict(f"the primary key field {row.name!r} cannot be renamed", field="name")
        if any(item.name == body.name for item in model.fields):
            raise Conflict(f"model {model.name!r} already has a field {body.name!r}")
        _rename_references(session, model, row.name, body.name)
        row.name = body.name
    if body.column is not None and body.column != row.column:
        if row.calculation is not None:
            raise InvalidInput(f"{row.name!r} is a calculated field; it has no source column")
        if row.name == model.primary_key and row.broken_reason is None:
            raise Conflict(
                f"the primary key field {row.name!r} cannot be relinked while it works", field="column"
            )
        if warehouse is None:
            raise InvalidInput("relinking a field needs a connection to the source")
        columns = dict(model_relation(model, warehouse).schema().items())
        fresh = _column_field(model, FieldSpec(name=row.name, column=body.column), columns, row.position)
        row.column, row.type, row.broken_reason = fresh.column, fresh.type, None
    if body.calculation is not None:
        if row.calculation is None:
            raise InvalidInput(f"{row.name!r} is a column field; add a new field for a calculation")
        if warehouse is None:
            raise InvalidInput("changing a calculation needs a connection to the source")
        row.calculation = body.calculation.model_dump(mode="json")
        row.type = calculated_type(session, model, row.name, warehouse).value
        row.broken_reason = None
    if body.meaning is not None:
        row.meaning = body.meaning or None
    for attribute in ("categorical", "description"):
        value = getattr(body, attribute)
        if value is not None:
            setattr(row, attribute, value)
    session.flush()
    return row


def delete_field(session: Session, model: Model, name: str) -> None:
    """Remove a field; the primary key and fields others depend on cannot be removed."""
    row = find_field(model, name)
    if row.name == model.primary_key:
        raise Conflict(f"the primary key field {row.name!r} cannot be deleted", field=row.name)
    if row.name == model.timestamp_field:
        model.timestamp_field = None
        _check_keys(model)
    users = [usage for usage in field_usages(session, model, row.name) if usage[0] == "relationship"]
    if users:
        raise Conflict(f"field {row.name!r} is used by relationship {users[0][1]!r}; delete that first")
    model.fields.remove(row)
    session.flush()


def find_field(model: Model, name: str) -> ModelField:
    from sluice.core.errors import NotFound

    for item in model.fields:
        if item.name == name:
            return item
    raise NotFound(f"model {model.name!r} has no field {name!r}")


def field_usages(session: Session, model: Model, name: str) -> list[tuple[str, str]]:
    """What reads field ``name`` of ``model``: (kind, name) of relationships and calculated fields."""
    from sluice.models.expressions import referenced_fields

    found: list[tuple[str, str]] = []
    for rel in relationships_touching(session, model):
        if (rel.from_model_id == model.id and rel.from_field == name) or (
            rel.to_model_id == model.id and rel.to_field == name
        ):
            found.append(("relationship", rel.name))
    for item in model.fields:
        calc = item.calculation
        if calc and calc.get("kind") == "expression" and name in referenced_fields(calc["expression"]):
            found.append(("calculated_field", item.name))
    for other in session.scalars(select(Model).where(Model.source_id == model.source_id)):
        for item in other.fields:
            calc = item.calculation
            if (
                calc
                and calc.get("kind") == "aggregate"
                and _aggregate_reads(session, other, calc, model, name)
            ):
                found.append(("calculated_field", f"{other.name}.{item.name}"))
    return found


def _aggregate_reads(session: Session, owner: Model, calc: dict[str, Any], model: Model, name: str) -> bool:
    from sluice.models.expressions import referenced_fields

    aggregate = RelatedAggregate.model_validate(calc)
    rel = next((r for r in relationships_touching(session, owner) if r.name == aggregate.relationship), None)
    if rel is None:
        return False
    related_id = rel.to_model_id if rel.from_model_id == owner.id else rel.from_model_id
    if related_id != model.id:
        return False
    read = {aggregate.field, aggregate.order_by} | (
        referenced_fields(aggregate.filter) if aggregate.filter else set()
    )
    return name in read


def relationships_touching(session: Session, model: Model) -> list[ModelRelationship]:
    """Relationships from or to ``model``."""
    return list(
        session.scalars(
            select(ModelRelationship).where(
                (ModelRelationship.from_model_id == model.id) | (ModelRelationship.to_model_id == model.id)
            )
        )
    )


def _rename_references(session: Session, model: Model, old: str, new: str) -> None:
    for rel in relationships_touching(session, model):
        if rel.from_model_id == model.id and rel.from_field == old:
            rel.from_field = new
        if rel.to_model_id == model.id and rel.to_field == old:
            rel.to_field = new
    if model.timestamp_field == old:
        model.timestamp_field = new


def create_relationship(
    session: Session, model: Model, body: RelationshipCreate, warehouse: Warehouse | None = None
) -> ModelRelationship:
    """Relate two models of the same source on key fields of compatible types."""
    target = get_scoped(session, Model, body.to_model_id, model.workspace_id, "model")
    if target.source_id != model.source_id:
        raise InvalidInput("relationships join models of the same source")
    left = find_field(model, _field_for(model, body.from_field) or body.from_field)
    right = find_field(target, _field_for(target, body.to_field) or body.to_field)
    if not join_compatible(FieldType(left.type), FieldType(right.type)):
        raise InvalidInput(
            f"{model.name}.{left.name} ({left.type}) and {target.name}.{right.name} ({right.type}) "
            "have incompatible types for a relationship",
            from_field=left.name,
            to_field=right.name,
        )
    row = ModelRelationship(
        workspace_id=model.workspace_id,
        name=body.name or target.name,
        kind=RelationshipKind(body.kind).value,
        from_model_id=model.id,
        to_model_id=target.id,
        from_field=left.name,
        to_field=right.name,
    )
    session.add(row)
    _flush(session, f"model {model.name!r} already has a relationship named {row.name!r}")
    return row


def _flush(session: Session, conflict: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None


__all__ = [
    "RowExpression",
    "add_field",
    "catalog_for",
    "create_model",
    "create_relationship",
    "delete_field",
    "field_usages",
    "update_field",
    "update_model",
]
