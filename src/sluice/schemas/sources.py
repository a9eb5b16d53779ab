"""API schemas of sources. Secrets are write-only: responses list which are set, never values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=50)
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="Write-only credentials.")


class SourceUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    config: dict[str, Any] | None = Field(
        default=None,
        description="Keys given replace stored values (null resets to the default); others are kept.",
    )
    secrets: dict[str, SecretStr] | None = Field(
        default=None, description="Write-only; keys given replace stored values, others are kept."
    )


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workspace_id: str
    name: str
    type: str
    description: str
    config: dict[str, Any]
    secret_names: list[str] = Field(
        description="Names of the secrets that are set (values are never returned)."
    )
    last_test_status: str | None = None
    last_test_message: str | None = None
    last_tested_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class SourceTypeOut(BaseModel):
    """A kind of source and the JSON Schema of its config (secret fields are ``writeOnly``)."""

    name: str
    label: str
    description: str
    dialect: str
    json_schema: dict[str, Any]
    secret_fields: list[str]


class BookkeepingOut(BaseModel):
    schema_name: str | None
    writable: bool
    created: bool
    message: str


class ConnectionTestOut(BaseModel):
    """Outcome of a connection test: ``status`` is ok, unreachable_host, bad_credentials,
    missing_database, missing_schema, missing_permission, in_use or warehouse_error."""

    ok: bool
    status: str
    message: str
    schemas: list[str]
    bookkeeping: BookkeepingOut | None
    tested_at: datetime


class SchemaTablesOut(BaseModel):
    name: str
    tables: list[str]


class IntrospectionOut(BaseModel):
    schemas: list[SchemaTablesOut]
    refreshed_at: datetime | None


class SourceColumnOut(BaseModel):
    name: str
    type: str
    warehouse_type: str


class TableColumnsOut(BaseModel):
    schema_name: str
    table: str
    columns: list[SourceColumnOut]
    refreshed_at: datetime | None
