"""Schemas, tables and columns of a source, cached on the source row and refreshed on demand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sluice.store.base import utcnow
from sluice.store.tables.sources import Source
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.type_names import field_type

SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast", "pg_temp_1", "pg_toast_temp_1"})


def _cache(source: Source) -> dict[str, Any]:
    return dict(source.introspection or {"schemas": {}})


def list_schema_tables(
    source: Source, warehouse: Warehouse, *, refresh: bool = False
) -> dict[str, list[str]]:
    """Schema name → table names (from the cache unless ``refresh`` or never read)."""
    cache = _cache(source)
    if refresh or not cache.get("schemas"):
        old = cache.get("schemas", {})
        schemas: dict[str, dict[str, Any]] = {}
        for schema in warehouse.list_schemas():
            if schema.lower() in SYSTEM_SCHEMAS or schema.lower().startswith("pg_temp"):
                continue
            known = old.get(schema, {})
            schemas[schema] = {
                table: None if refresh else known.get(table) for table in warehouse.list_tables(schema)
            }
        cache = {"schemas": schemas}
        _store(source, cache)
    return {schema: sorted(tables) for schema, tables in cache["schemas"].items()}


def table_columns(
    source: Source, warehouse: Warehouse, schema: str, table: str, *, refresh: bool = False
) -> list[dict[str, str]]:
    """Columns of a table: name, logical type, warehouse type (cached per table)."""
    cache = _cache(source)
    schemas = dict(cache.get("schemas", {}))
    tables = dict(schemas.get(schema, {}))
    columns = tables.get(table)
    if refresh or columns is None:
        described = warehouse.columns(schema, table)
        columns = [
            {"name": name, "type": field_type(dtype).value, "warehouse_type": str(dtype)}
            for name, dtype in described.items()
        ]
        tables[table] = columns
        schemas[schema] = tables
        _store(source, {"schemas": schemas})
    return list(columns)


def _store(source: Source, cache: dict[str, Any]) -> None:
    source.introspection = cache
    source.introspected_at = utcnow()


def cached_at(source: Source) -> datetime | None:
    """When the cache was last refreshed."""
    return source.introspected_at
