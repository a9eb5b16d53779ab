"""Models, their fields and relationships: CRUD, preview, key health, categorical values, schema check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.encoders import jsonable_encoder
from sqlalchemy import select

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.errors import NotFound
from sluice.models import service
from sluice.models.drift import check_model_schema
from sluice.models.health import key_health, top_values
from sluice.models.meanings import STANDARD_MEANINGS
from sluice.schemas.models import (
    BrokenField,
    CategoricalValue,
    CategoricalValuesOut,
    ColumnOut,
    FieldOut,
    FieldSpec,
    FieldUpdate,
    KeyHealthOut,
    KeySample,
    MeaningOut,
    ModelCreate,
    ModelOut,
    ModelUpdate,
    PreviewOut,
    PreviewRequest,
    RelationshipCreate,
    RelationshipOut,
    SchemaCheckOut,
    Usage,
)
from sluice.store.base import utcnow
from sluice.store.scoped import get_scoped
from sluice.store.tables.models import Model, ModelRelationship
from sluice.store.tables.sources import Source
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.sources import open_source
from sluice.warehouse.type_names import field_type

router = APIRouter(prefix="/models", tags=["models"])
Reader = Annotated[Principal, Depends(require(Permission.MODELS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MODELS_WRITE))]
Limit = Annotated[int, Query(ge=1, le=1000)]


@contextmanager
def _warehouse(
    request: Request, session: DbSession, workspace_id: str, source_id: str
) -> Iterator[Warehouse]:
    source = get_scoped(session, Source, source_id, workspace_id, "source")
    with open_source(source, get_database(request).secrets) as warehouse:
        yield warehouse


def _model(session: DbSession, principal: Principal, model_id: str) -> Model:
    return get_scoped(session, Model, model_id, principal.workspace_id, "model")


def _preview(warehouse: Warehouse, table: Any, limit: int) -> PreviewOut:
    schema = table.schema()
    rows = warehouse.to_pyarrow(table.limit(limit)).to_pylist()
    return PreviewOut(
        columns=[
            ColumnOut(name=name, type=field_type(dtype), warehouse_type=str(dtype))
            for name, dtype in schema.items()
        ],
        rows=jsonable_encoder(rows),
    )


@router.get("", response_model=Page[ModelOut])
def list_models(
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
    source_id: str | None = None,
) -> Page[ModelOut]:
    statement = select(Model).where(Model.workspace_id == principal.workspace_id)
    if source_id:
        statement = statement.where(Model.source_id == source_id)
    rows, cursor = paginate(session, statement, Model.id, params)
    return Page(items=[ModelOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("", response_model=ModelOut, status_code=status.HTTP_201_CREATED)
def create_model(body: ModelCreate, request: Request, session: DbSession, principal: Writer) -> Model:
    """Create a model over a table or a read-only SELECT; fields default to every column."""
    with _warehouse(request, session, principal.workspace_id, body.source_id) as warehouse:
        return service.create_model(session, principal.workspace_id, body, warehouse)


@router.get("/meanings", response_model=list[MeaningOut])
def list_meanings(principal: Reader) -> list[MeaningOut]:
    """The standard meanings a field can carry."""
    return [MeaningOut(name=name, label=label) for name, label in STANDARD_MEANINGS.items()]


@router.post("/preview", response_model=PreviewOut)
def preview_draft(
    body: PreviewRequest, request: Request, session: DbSession, principal: Reader
) -> PreviewOut:
    """Columns and first rows of a table or query, before the model exists."""
    with _warehouse(request, session, principal.workspace_id, body.source_id) as warehouse:
        return _preview(warehouse, service.source_relation(warehouse, body.table, body.sql), body.limit)


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: str, session: DbSession, principal: Reader) -> Model:
    return _model(session, principal, model_id)


@router.patch("/{model_id}", response_model=ModelOut)
def update_model(
    model_id: str, body: ModelUpdate, request: Request, session: DbSession, principal: Writer
) -> Model:
    """Change a model. The primary key cannot be changed (409)."""
    model = _model(session, principal, model_id)
    if body.sql is None and body.table is None:
        return service.update_model(session, model, body, None)
    with _warehouse(request, session, principal.workspace_id, model.source_id) as warehouse:
        service.update_model(session, model, body, warehouse)
        check_model_schema(session, model, warehouse)  # fields the new query lacks are marked broken
        return model


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(model_id: str, session: DbSession, principal: Writer) -> None:
    session.delete(_model(session, principal, model_id))


@router.get("/{model_id}/preview", response_model=PreviewOut)
def preview_model(
    model_id: str, request: Request, session: DbSession, principal: Reader, limit: Limit = 50
) -> PreviewOut:
    """First rows of the model, calculated fields included (broken fields, found by a schema check
    run first, are left out and reported on the model)."""
    model = _model(session, principal, model_id)
    with _warehouse(request, session, principal.workspace_id, model.source_id) as warehouse:
        check_model_schema(session, model, warehouse)
        catalog = service.catalog_for(session, principal.workspace_id, model.source_id, warehouse)
        return _preview(warehouse, catalog.table(model.name), limit)


@router.get("/{model_id}/key-health", response_model=KeyHealthOut)
def model_key_health(
    model_id: str, request: Request, session: DbSession, principal: Reader, sample: Limit = 10
) -> KeyHealthOut:
    """Duplicated primary keys (count, rows, most repeated) and null keys."""
    model = _model(session, principal, model_id)
    with _warehouse(request, session, principal.workspace_id, model.source_id) as warehouse:
        catalog = service.catalog_for(session, principal.workspace_id, model.source_id, warehouse)
        health = key_health(catalog, model.name, sample=sample)
    return KeyHealthOut(
        primary_key=health.primary_key,
        total_rows=health.total_rows,
        duplicate_keys=health.duplicate_keys,
        duplicate_rows=health.duplicate_rows,
        null_keys=health.null_keys,
        sample_duplicates=[
            KeySample(key=jsonable_encoder(key), rows=rows) for key, rows in health.sample_duplicates
        ],
        healthy=health.healthy,
    )


@router.post("/{model_id}/fields", response_model=FieldOut, status_code=status.HTTP_201_CREATED)
def add_field(model_id: str, body: FieldSpec, request: Request, session: DbSession, principal: Writer) -> Any:
    """Add a column field or a calculated field."""
    model = _model(session, principal, model_id)
    with _warehouse(request, session, principal.workspace_id, model.source_id) as warehouse:
        return service.add_field(session, model, body, warehouse)


@router.patch("/{model_id}/fields/{field_name}", response_model=FieldOut)
def update_field(
    model_id: str, field_name: str, body: FieldUpdate, request: Request, session: DbSession, principal: Writer
) -> Any:
    """Rename, relink to another column (repairs a broken field), change meaning or categorical flag."""
    model = _model(session, principal, model_id)
    if body.column is None and body.calculation is None:
        return service.update_field(session, model, field_name, body, None)
    with _warehouse(request, session, principal.workspace_id, model.source_id) as warehouse:
        row = service.update_field(session, model, field_name, body, warehouse)
        if model.schema_checked_at is not None:
            check_model_schema(session, model, warehouse)
        return row


@router.delete("/{model_id}/fields/{field_name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_field(model_id: str, field_name: str, session: DbSession, principal: Writer) -> None:
    """Remove a field (not the primary key)."""
    model = _model(session, principal, model_id)
    name = service.find_field(model, field_name).name
    service.delete_field(session, model, name)
    for item in model.fields:
        if item.broken_reason and item.broken_reason.endswith(f"broken field {model.name}.{name}"):
            item.broken_reason = None


@router.get("/{model_id}/fields/{field_name}/values", response_model=CategoricalValuesOut)
def field_values(
    model_id: str,
    field_name: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    refresh: bool = False,
    limit: Limit = 100,
) -> CategoricalValuesOut:
    """Distinct values with counts, most frequent first (cached for categorical fields)."""
    model = _model(session, principal, model_id)
    row = service.find_field(model, field_name)
    if row.categorical_values is None or refresh or not row.categorical:
        with _warehouse(request, session, principal.workspace_id, model.source_id) as warehouse:
            catalog = service.catalog_for(session, principal.workspace_id, model.source_id, warehouse)
            values = [
                {"value": value, "count": count}
                for value, count in top_values(catalog, model.name, row.name, limit=limit)
            ]
        if row.categorical:
            row.categorical_values = jsonable_encoder(values)
            row.categorical_values_at = utcnow()
    else:
        values = row.categorical_values
    return CategoricalValuesOut(
        field=row.name,
        values=[
            CategoricalValue(value=jsonable_encoder(item["value"]), count=item["count"])
            for item in values[:limit]
        ],
        refreshed_at=row.categorical_values_at,
    )


@router.post("/{model_id}/schema-check", response_model=SchemaCheckOut)
def schema_check(model_id: str, request: Request, session: DbSession, principal: Reader) -> SchemaCheckOut:
    """Compare the model with the source's current columns; broken fields are marked on the model."""
    model = _model(session, principal, model_id)
    with _warehouse(request, session, principal.workspace_id, model.source_id) as warehouse:
        result = check_model_schema(session, model, warehouse)
    return SchemaCheckOut(
        model_id=model.id,
        broken_fields=[
            BrokenField(field=item.field, column=item.column, reason=item.reason, suggestion=item.suggestion)
            for item in result.broken
        ],
        affected=[Usage(kind=kind, name=name, reason=reason) for kind, name, reason in result.affected],
        checked_at=result.checked_at,
    )


@router.get("/{model_id}/relationships", response_model=list[RelationshipOut])
def list_relationships(model_id: str, session: DbSession, principal: Reader) -> list[RelationshipOut]:
    """Relationships stored from this model."""
    model = _model(session, principal, model_id)
    rows = session.scalars(select(ModelRelationship).where(ModelRelationship.from_model_id == model.id))
    return [_relationship_out(session, row) for row in rows]


@router.post("/{model_id}/relationships", response_model=RelationshipOut, status_code=status.HTTP_201_CREATED)
def create_relationship(
    model_id: str, body: RelationshipCreate, session: DbSession, principal: Writer
) -> RelationshipOut:
    """Relate this model to another of the same source on key fields of compatible types."""
    model = _model(session, principal, model_id)
    return _relationship_out(session, service.create_relationship(session, model, body))


@router.delete("/{model_id}/relationships/{relationship_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_relationship(model_id: str, relationship_id: str, session: DbSession, principal: Writer) -> None:
    model = _model(session, principal, model_id)
    row = get_scoped(session, ModelRelationship, relationship_id, principal.workspace_id, "relationship")
    if row.from_model_id != model.id:
        raise NotFound(f"relationship {relationship_id!r} not found on model {model.name!r}")
    session.delete(row)


def _relationship_out(session: DbSession, row: ModelRelationship) -> RelationshipOut:
    out = RelationshipOut.model_validate(row)
    ends = [(row.from_model_id, row.from_field), (row.to_model_id, row.to_field)]
    for model_id, field_name in ends:
        model = session.get(Model, model_id)
        match = next((item for item in model.fields if item.name == field_name), None) if model else None
        if match is not None and match.broken_reason:
            out.broken_reason = f"uses broken field {model.name}.{field_name}" if model else None
    return out
