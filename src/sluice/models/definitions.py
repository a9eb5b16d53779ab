"""Plain snapshots of stored models, detached from the database session.

The catalog and the model services work on these, so a catalog stays usable after the session
that loaded it is closed (syncs and previews run long after the request transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from sluice.models.calculations import PredictionScores, RelatedAggregate, RowExpression, StoredCalculation
from sluice.models.catalog import (
    FieldInfo,
    FieldType,
    ModelInfo,
    ModelType,
    RelationshipInfo,
    RelationshipKind,
)
from sluice.store.tables.models import Model, ModelField, ModelRelationship

CALCULATION = TypeAdapter[RowExpression | RelatedAggregate | PredictionScores](StoredCalculation)


@dataclass(frozen=True)
class FieldDefinition:
    """One field of a model."""

    name: str
    type: FieldType
    column: str | None = None
    calculation: RowExpression | RelatedAggregate | PredictionScores | None = None
    meaning: str | None = None
    categorical: bool = False
    broken_reason: str | None = None

    @property
    def calculated(self) -> bool:
        return self.calculation is not None

    def info(self) -> FieldInfo:
        return FieldInfo(
            name=self.name,
            type=self.type,
            categorical=self.categorical,
            meaning=self.meaning,
            calculated=self.calculated,
            broken_reason=self.broken_reason,
        )


@dataclass(frozen=True)
class ModelDefinition:
    """A model: where its rows come from and its fields."""

    id: str
    name: str
    type: ModelType
    primary_key: str
    fields: list[FieldDefinition]
    table_schema: str | None = None
    table_name: str | None = None
    sql: str | None = None
    timestamp_field: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def field(self, name: str) -> FieldDefinition | None:
        return next((item for item in self.fields if item.name == name), None)

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            type=self.type,
            primary_key=self.primary_key,
            fields={item.name: item.info() for item in self.fields},
            timestamp_field=self.timestamp_field,
            id=self.id,
        )


def field_definition(row: ModelField) -> FieldDefinition:
    """The snapshot of a stored field."""
    return FieldDefinition(
        name=row.name,
        type=FieldType(row.type),
        column=row.column,
        calculation=CALCULATION.validate_python(row.calculation) if row.calculation else None,
        meaning=row.meaning,
        categorical=row.categorical,
        broken_reason=row.broken_reason,
    )


def model_definition(row: Model) -> ModelDefinition:
    """The snapshot of a stored model and its fields."""
    return ModelDefinition(
        id=row.id,
        name=row.name,
        type=ModelType(row.type),
        primary_key=row.primary_key,
        fields=[field_definition(item) for item in row.fields],
        table_schema=row.table_schema,
        table_name=row.table_name,
        sql=row.sql,
        timestamp_field=row.timestamp_field,
    )


INVERSE_KIND = {
    RelationshipKind.HAS_MANY: RelationshipKind.BELONGS_TO,
    RelationshipKind.HAS_ONE: RelationshipKind.BELONGS_TO,
    RelationshipKind.BELONGS_TO: RelationshipKind.HAS_MANY,
}


def relationship_infos(rows: list[ModelRelationship], names: dict[str, str]) -> list[RelationshipInfo]:
    """Stored relationships plus the inverse of each (``orders belongs_to users`` for ``users has_many
    orders``) unless the reverse direction is stored too. ``names`` maps model ids to model names."""
    stored = [
        RelationshipInfo(
            name=row.name,
            kind=RelationshipKind(row.kind),
            from_model=names[row.from_model_id],
            to_model=names[row.to_model_id],
            from_field=row.from_field,
            to_field=row.to_field,
        )
        for row in rows
        if row.from_model_id in names and row.to_model_id in names
    ]
    links = list(stored)
    for link in stored:
        reverse_exists = any(
            other.from_model == link.to_model
            and other.to_model == link.from_model
            and other.from_field == link.to_field
            and other.to_field == link.from_field
            for other in links
        )
        name_taken = any(
            other.from_model == link.to_model and other.name == link.from_model for other in links
        )
        if reverse_exists or name_taken:
            continue
        links.append(
            RelationshipInfo(
                name=link.from_model,
                kind=INVERSE_KIND[link.kind],
                from_model=link.to_model,
                to_model=link.from_model,
                from_field=link.to_field,
                to_field=link.from_field,
            )
        )
    return links
