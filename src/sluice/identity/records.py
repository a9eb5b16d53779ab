"""Step 1 of a run: every input record as one row, and its normalised identifiers as (node, value) rows.

``records`` columns: ``record_key`` (``<model>:<key>``), ``model``, ``source_key``, ``priority``,
``seen_at``, ``node`` (md5 of the record key: the record's initial label), ``row_hash`` (md5 of
the input row's fields: incremental runs tell changed rows by it), one column per
attribute (cast to the type of the first input that maps it) and ``id__<identifier>__<n>`` per
identifier field slot. ``identifiers`` columns: ``node``, ``identifier``, ``value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from sluice.core.errors import InvalidInput
from sluice.identity.normalize import normalized
from sluice.identity.spec import IdentitySpec, InputModel


@ibis.udf.scalar.builtin(name="md5")  # type: ignore[untyped-decorator]
def md5(value: str) -> str:  # type: ignore[empty-body]
    """The warehouse's MD5 as lower-case hex (DuckDB, PostgreSQL, Snowflake, Redshift, Databricks)."""


NULL_MARK = "\u2400"


def row_digest(table: ir.Table, fields: list[str]) -> ir.StringValue:
    """md5 of one row's fields as text (nulls marked, fields separated): changes when the row does."""
    text: ir.StringValue = ibis.literal("")
    for name in fields:
        text = text + table[name].cast("string").fill_null(NULL_MARK) + "\x1f"
    return md5(text)


@dataclass(frozen=True)
class InputTable:
    """A model's rows as an Ibis table with field names, and the field identifying a record."""

    table: ir.Table
    key: str


def identifier_column(identifier: str, slot: int) -> str:
    return f"id__{identifier}__{slot}"


def slots(spec: IdentitySpec) -> dict[str, int]:
    """How many fields of one input at most hold each identifier."""
    return {
        item.name: max((len(source.identifiers.get(item.name, [])) for source in spec.inputs), default=0)
        for item in spec.identifiers
    }


def attribute_types(spec: IdentitySpec, inputs: Mapping[str, InputTable]) -> dict[str, dt.DataType]:
    """Type of each attribute: that of the first input mapping it."""
    types: dict[str, dt.DataType] = {}
    for source in spec.inputs:
        schema = inputs[source.model].table.schema()
        for name, field in source.attributes.items():
            if field not in schema:
                raise InvalidInput(f"model {source.model!r} has no field {field!r} (attribute {name!r})")
            types.setdefault(name, schema[field])
    return types


def records_expr(spec: IdentitySpec, inputs: Mapping[str, InputTable]) -> ir.Table:
    """The union of every input's records, identifiers normalised."""
    types = attribute_types(spec, inputs)
    widths = slots(spec)
    parts = [_one_input(source, inputs[source.model], types, widths, spec) for source in spec.inputs]
    result = parts[0]
    for part in parts[1:]:
        result = result.union(part, distinct=False)
    return result


def _one_input(
    source: InputModel,
    relation: InputTable,
    types: dict[str, dt.DataType],
    widths: dict[str, int],
    spec: IdentitySpec,
) -> ir.Table:
    table = relation.table
    schema = table.schema()
    for fields in source.identifiers.values():
        for field in fields:
            if field not in schema:
                raise InvalidInput(f"model {source.model!r} has no field {field!r}")
    if relation.key not in schema:
        raise InvalidInput(f"model {source.model!r} has no key field {relation.key!r}")
    if source.timestamp is not None and source.timestamp not in schema:
        raise InvalidInput(f"model {source.model!r} has no timestamp field {source.timestamp!r}")
    table = table.filter(table[relation.key].notnull())
    record_key = ibis.literal(f"{source.model}:") + table[relation.key].cast("string")
    columns: dict[str, ir.Value] = {
        "record_key": record_key,
        "model": ibis.literal(source.model),
        "source_key": table[relation.key].cast("string"),
        "priority": ibis.literal(source.priority, type="int32"),
        "seen_at": (
            table[source.timestamp].cast("timestamp") if source.timestamp else ibis.null("timestamp")
        ),
        "node": md5(record_key),
        "row_hash": row_digest(table, sorted(table.columns)),
    }
    for name, kind in types.items():
        mapped = source.attributes.get(name)
        columns[name] = table[mapped].cast(kind) if mapped else ibis.null(kind)
    for identifier in spec.identifiers:
        fields = source.identifiers.get(identifier.name, [])
        for slot in range(widths[identifier.name]):
            value = normalized(table[fields[slot]], identifier) if slot < len(fields) else ibis.null("string")
            columns[identifier_column(identifier.name, slot)] = value
    return table.select(**columns)


def identifiers_expr(spec: IdentitySpec, records: ir.Table) -> ir.Table:
    """(node, identifier, value) for every non-null normalised identifier value, deduplicated."""
    parts = []
    for name, width in slots(spec).items():
        for slot in range(width):
            column = records[identifier_column(name, slot)]
            parts.append(
                records.filter(column.notnull()).select(
                    node=records.node, identifier=ibis.literal(name), value=column
                )
            )
    if not parts:
        raise InvalidInput("no input maps any identifier")
    result = parts[0]
    for part in parts[1:]:
        result = result.union(part, distinct=False)
    return result.distinct()
