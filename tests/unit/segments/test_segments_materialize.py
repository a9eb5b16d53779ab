"""Materialising a segment's keys into the bookkeeping schema of a DuckDB warehouse."""

from __future__ import annotations

from datetime import UTC, datetime

from sluice.schemas.segments import SegmentDefinition
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.materialize import materialize
from sluice.segments.spec import SegmentSpec
from sluice.segments.testing import duckdb_catalog
from sluice.warehouse.connection import IbisWarehouse

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def test_keys_are_written_distinct_and_replaced_on_the_next_run() -> None:
    users = [
        {"user_id": 1, "row_no": 0, "country": "FR"},
        {"user_id": 1, "row_no": 1, "country": "FR"},
        {"user_id": None, "row_no": 2, "country": "FR"},
        {"user_id": 2, "row_no": 3, "country": "DE"},
        {"user_id": 3, "row_no": 4, "country": "FR"},
    ]
    catalog = duckdb_catalog({"users": users})
    backend = catalog.tables["users"]._find_backend()
    warehouse = IbisWarehouse(backend, dialect="duckdb", default_schema="main")
    french = SegmentDefinition.model_validate(
        {
            "conditions": {
                "conditions": [{"kind": "property", "field": "country", "operator": "equals", "value": "FR"}]
            }
        }
    )
    segment = SegmentSpec("01JSEG", "French", "users", definition=french)
    result = materialize(SegmentCompiler(catalog, now=NOW), segment, warehouse)
    assert (result.schema, result.table, result.key_column, result.rows) == (
        "sluice",
        "segment_01jseg",
        "user_id",
        2,
    )
    keys = backend.raw_sql("SELECT user_id FROM sluice.segment_01jseg ORDER BY 1").fetchall()
    assert keys == [(1,), (3,)]
    backend.raw_sql("UPDATE users SET country = 'FR' WHERE user_id = 2")
    again = materialize(SegmentCompiler(catalog, now=NOW), segment, warehouse)
    assert again.rows == 3
