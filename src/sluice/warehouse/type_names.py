"""Warehouse type names to Ibis types, and Ibis types to the logical field types of models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from sluice.models.catalog import FieldType

# Snowflake's cursor.description type codes (snowflake.connector.constants.FIELD_TYPES order).
_SNOWFLAKE_CODES = {
    0: "NUMBER",
    1: "FLOAT",
    2: "VARCHAR",
    3: "DATE",
    4: "TIMESTAMP_NTZ",
    5: "VARIANT",
    6: "TIMESTAMP_LTZ",
    7: "TIMESTAMP_TZ",
    8: "TIMESTAMP_NTZ",
    9: "OBJECT",
    10: "ARRAY",
    11: "BINARY",
    12: "TIME",
    13: "BOOLEAN",
}


def ibis_type(dialect: str, name: str, precision: Any = None, scale: Any = None) -> dt.DataType:
    """The Ibis type of a warehouse column type name (unknown names become strings)."""
    from ibis.backends.sql.datatypes import PostgresType, SnowflakeType

    parser = SnowflakeType if dialect == "snowflake" else PostgresType
    text = str(name).upper()
    if text in ("NUMBER", "DECIMAL", "NUMERIC") and precision is not None:
        text = f"{text}({int(precision)},{int(scale or 0)})"
    try:
        return parser.from_string(text)
    except Exception:
        return dt.string


def description_schema(dialect: str, description: Sequence[Any], connection: Any) -> ibis.Schema:
    """The Ibis schema of a cursor's result, from ``cursor.description``."""
    columns: dict[str, dt.DataType] = {}
    for column in description:
        name, code = column[0], column[1]
        if dialect == "snowflake":
            kind = _SNOWFLAKE_CODES.get(int(code), "VARCHAR")
            columns[str(name)] = ibis_type(dialect, kind, column[4], column[5])
        else:
            info = connection.adapters.types.get(code) if hasattr(connection, "adapters") else None
            columns[str(name)] = ibis_type(dialect, info.name if info else "text")
    return ibis.schema(columns)


def rows_to_arrow(schema: ibis.Schema, result: pa.Table | Sequence[Sequence[Any]]) -> pa.Table:
    """A result as Arrow with the column names and types of ``schema`` (best-effort casts)."""
    target = schema.to_pyarrow()
    if not isinstance(result, pa.Table):
        columns: list[Sequence[Any]] = list(zip(*result, strict=False)) if result else [[] for _ in target]
        arrays = [
            pa.array(list(values), type=field.type) for values, field in zip(columns, target, strict=True)
        ]
        return pa.Table.from_arrays(arrays, schema=target)
    result = result.rename_columns(target.names)
    try:
        return result.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return result


def field_type(dtype: dt.DataType) -> FieldType:
    """The logical field type of an Ibis type (what the segment builder offers operators for)."""
    if dtype.is_boolean():
        return FieldType.BOOLEAN
    if dtype.is_integer():
        return FieldType.INTEGER
    if dtype.is_floating():
        return FieldType.FLOAT
    if dtype.is_decimal():
        scale = getattr(dtype, "scale", None)
        return FieldType.INTEGER if scale == 0 else FieldType.DECIMAL
    if dtype.is_timestamp():
        return FieldType.TIMESTAMP
    if dtype.is_date():
        return FieldType.DATE
    if dtype.is_json() or dtype.is_struct() or dtype.is_map():
        return FieldType.JSON
    if dtype.is_array():
        return FieldType.ARRAY
    return FieldType.STRING


COMPATIBLE_KEY_TYPES: list[set[FieldType]] = [
    {FieldType.INTEGER, FieldType.DECIMAL},
    {FieldType.STRING},
    {FieldType.DATE},
    {FieldType.TIMESTAMP},
    {FieldType.BOOLEAN},
]


def join_compatible(left: FieldType, right: FieldType) -> bool:
    """Whether two field types can be compared in a relationship join."""
    return any(left in group and right in group for group in COMPATIBLE_KEY_TYPES)
