"""API schemas of models, fields and relationships."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sluice.models.calculations import Calculation
from sluice.models.catalog import FieldType, ModelType, RelationshipKind
from sluice.models.meanings import STANDARD_MEANINGS

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _meaning(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in STANDARD_MEANINGS:
        raise ValueError(f"unknown meaning {value!r}; choose one of: {', '.join(STANDARD_MEANINGS)}")
    return value


class MeaningOut(BaseModel):
    name: str
    label: str


class TableRef(BaseModel):
    """A table of the source; ``schema`` defaults to the source's default schema."""

    model_config = ConfigDict(extra="forbid")

    table_schema: str | None = Field(default=None, alias="schema")
    name: str = Field(min_length=1)


class FieldSpec(BaseModel):
    """A field to add: a source ``column`` or a ``calculation``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, max_length=200)
    column: str | None = None
    calculation: Calculation | None = None
    type: FieldType | None = Field(default=None, description="Detected from the warehouse when omitted.")
    meaning: str | None = Field(default=None, description="Standard meaning: email, phone, first_name, …")
    categorical: bool = False
    description: str = ""

    @field_validator("meaning")
    @classmethod
    def _standard_meaning(cls, value: str | None) -> str | None:
        return _meaning(value)


class FieldUpdate(BaseModel):
    """Changes to a field. ``column`` relinks it (the repair of a broken field)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=NAME, max_length=200)
    column: str | None = None
    meaning: str | None = Field(default=None, description="A standard meaning; empty string removes it.")
    categorical: bool | None = None
    description: str | None = None
    calculation: Calculation | None = None

    @field_validator("meaning")
    @classmethod
    def _standard_meaning(cls, value: str | None) -> str | None:
        return value if value == "" else _meaning(value)


class ModelCreate(BaseModel):
    """A model over a table or a SQL query. Without ``fields``, every column becomes a field."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, max_length=200)
    source_id: str
    type: ModelType = ModelType.CUSTOM
    description: str = ""
    table: TableRef | None = None
    sql: str | None = None
    primary_key: str = Field(description="Field name of the primary key; cannot be changed later.")
    timestamp_field: str | None = Field(default=None, description="Required for events models.")
    fields: list[FieldSpec] | None = None


class ModelUpdate(BaseModel):
    """Changes to a model; ``primary_key`` may only be repeated unchanged."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=NAME, max_length=200)
    description: str | None = None
    type: ModelType | None = None
    sql: str | None = None
    table: TableRef | None = None
    primary_key: str | None = None
    timestamp_field: str | None = None


class FieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    column: str | None
    type: FieldType
    meaning: str | None
    categorical: bool
    description: str
    calculation: dict[str, Any] | None
    broken_reason: str | None = Field(
        description="Why the field no longer matches the source, if it does not."
    )


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workspace_id: str
    source_id: str
    name: str
    description: str
    type: ModelType
    table_schema: str | None
    table_name: str | None
    sql: str | None
    primary_key: str
    timestamp_field: str | None
    fields: list[FieldOut]
    schema_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class RelationshipCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=NAME, description="Defaults to the related model's name.")
    kind: RelationshipKind
    to_model_id: str
    from_field: str
    to_field: str


class RelationshipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: RelationshipKind
    from_model_id: str
    to_model_id: str
    from_field: str
    to_field: str
    broken_reason: str | None = None


class PreviewRequest(BaseModel):
    """A table or query to preview before a model exists."""

    model_config = ConfigDict(extra="forbid")

    source_id: str
    table: TableRef | None = None
    sql: str | None = None
    limit: int = Field(default=50, ge=1, le=1000)


class ColumnOut(BaseModel):
    name: str
    type: FieldType
    warehouse_type: str


class PreviewOut(BaseModel):
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]


class KeySample(BaseModel):
    key: Any
    rows: int


class KeyHealthOut(BaseModel):
    """Primary key health: duplicated and null keys, with samples."""

    primary_key: str
    total_rows: int
    duplicate_keys: int = Field(description="Distinct key values that occur more than once.")
    duplicate_rows: int = Field(description="Rows whose key occurs more than once (all copies).")
    null_keys: int
    sample_duplicates: list[KeySample]
    healthy: bool


class CategoricalValue(BaseModel):
    value: Any
    count: int


class CategoricalValuesOut(BaseModel):
    field: str
    values: list[CategoricalValue]
    refreshed_at: datetime | None


class BrokenField(BaseModel):
    field: str
    column: str | None
    reason: str
    suggestion: str | None = None


class Usage(BaseModel):
    kind: str
    name: str
    reason: str


class SchemaCheckOut(BaseModel):
    """Result of comparing the model's fields with the source's current columns."""

    model_id: str
    broken_fields: list[BrokenField]
    affected: list[Usage] = Field(description="Calculated fields and relationships that use a broken field.")
    checked_at: datetime
