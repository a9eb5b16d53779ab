"""Materialisation of a segment's keys into the warehouse's bookkeeping schema.

``materialize`` writes the distinct, non-null primary keys of a segment's rows to
``<schema>.segment_<id>`` (one column named after the model's primary key), computed in the
warehouse by one ``CREATE TABLE … AS SELECT``; nothing passes through Sluice. Syncs and overlap
analyses of very large audiences can join that table instead of re-evaluating the tree. The table is
replaced (drop, then create): readers may briefly find it missing, never half written.

The result carries the segment's signature (:mod:`sluice.segments.signature`); stored with the
segment, it lets membership conditions of other segments read the keys instead of re-evaluating the
conditions while the definition is unchanged and the keys are fresh
(:class:`sluice.segments.spec.Materialization`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sluice.segments.compiler import SegmentCompiler
from sluice.segments.signature import segment_signature
from sluice.segments.spec import SegmentSpec
from sluice.warehouse.bookkeeping import ensure_bookkeeping_schema, quoted
from sluice.warehouse.connection import Warehouse

DEFAULT_SCHEMA = "sluice"


@dataclass(frozen=True)
class MaterializedSegment:
    """Where a segment's keys were written and how many there are."""

    schema: str
    table: str
    key_column: str
    rows: int
    signature: str


def materialized_table_name(segment_id: str) -> str:
    """``segment_<id>``: lower case, letters, digits and underscores only."""
    return "segment_" + re.sub(r"[^a-z0-9_]", "_", segment_id.lower())


def materialize(
    compiler: SegmentCompiler, segment: SegmentSpec, warehouse: Warehouse, *, schema: str = DEFAULT_SCHEMA
) -> MaterializedSegment:
    """Write the segment's keys to the bookkeeping schema (created if allowed) and count them."""
    ensure_bookkeeping_schema(warehouse, schema)
    key = compiler.catalog.model(segment.model).primary_key
    rows = compiler.rows(segment, fields=())
    keys = rows.filter(rows[key].notnull()).select(key).distinct()
    name = materialized_table_name(segment.id)
    target = f"{quoted(schema, warehouse.dialect)}.{quoted(name, warehouse.dialect)}"
    warehouse.execute_statement(f"DROP TABLE IF EXISTS {target}")
    warehouse.execute_statement(f"CREATE TABLE {target} AS {warehouse.compile(keys)}")
    written = warehouse.table(schema, name)
    count = int(warehouse.to_pyarrow(written.aggregate(n=written.count())).column(0)[0].as_py())
    signature = segment_signature(compiler.catalog, compiler.segments, segment)
    return MaterializedSegment(schema=schema, table=name, key_column=key, rows=count, signature=signature)
