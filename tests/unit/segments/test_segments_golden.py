"""Golden SQL per dialect for a catalogue of condition trees covering every condition kind.

Each tree compiles to ``golden/<name>.<dialect>.sql``; a change in the generated SQL shows up as a
diff of these files. Regenerate with ``SLUICE_UPDATE_GOLDEN=1 pytest tests/unit/segments``.
The DuckDB files also run on DuckDB, and every file parses with sqlglot in its own dialect.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from sluice.schemas.segments import SegmentDefinition
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.spec import SegmentSpec, StaticSegments
from sluice.segments.sql import segment_sql
from sluice.segments.testing import duckdb_catalog, unbound_catalog

GOLDEN = Path(__file__).parent / "golden"
DIALECTS = ["duckdb", "postgres", "snowflake", "bigquery", "databricks"]
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def prop(field: str, operator: str, **operands: Any) -> dict[str, Any]:
    return {"kind": "property", "field": field, "operator": operator, **operands}


def group(*conditions: dict[str, Any], op: str = "and", negate: bool = False) -> dict[str, Any]:
    return {"kind": "group", "op": op, "negate": negate, "conditions": list(conditions)}


CATALOGUE: dict[str, dict[str, Any]] = {
    "property_text": {
        "conditions": group(
            prop("country", "equals", value="FR"),
            prop("country", "not_equals", value="DE"),
            prop("tier", "in", values=["gold", "platinum"]),
            prop("tier", "not_in", values=["bronze"]),
            prop("email", "contains", value="@"),
            prop("email", "not_contains", value="%_"),
            prop("email", "starts_with", value="anna"),
            prop("email", "ends_with", value=".fr"),
            prop("company_id", "is_null"),
            prop("email", "is_not_null"),
        )
    },
    "property_numbers_and_booleans": {
        "conditions": group(
            prop("age", "gte", value=18),
            prop("age", "between", values=[25, 34]),
            prop("score", "not_between", values=[0.5, 1.5]),
            prop("score", "lt", value=99.5),
            prop("vip", "equals", value=True),
        )
    },
    "property_dates_absolute": {
        "conditions": group(
            prop("created_at", "after", value="2023-01-01"),
            prop("created_at", "before", value="2024-02-01T08:30:00+01:00"),
            prop("birth_date", "between", values=["1980-01-01", "1999-12-31"]),
            prop("created_at", "equals", value="2023-06-15"),
        )
    },
    "property_dates_relative": {
        "conditions": group(
            prop("created_at", "within_last_days", days=30),
            prop("created_at", "more_than_days_ago", days=7),
            prop("birth_date", "within_next_days", days=14),
            prop("birth_date", "anniversary"),
            op="or",
        )
    },
    "nested_groups_and_negation": {
        "conditions": group(
            group(prop("country", "equals", value="FR"), prop("country", "equals", value="BE"), op="or"),
            group(prop("tier", "equals", value="bronze"), prop("vip", "equals", value=False), negate=True),
            group(group(group(prop("age", "gt", value=65)), op="or"), negate=True),
        )
    },
    "relation_exists_and_not_exists": {
        "conditions": group(
            {
                "kind": "relation",
                "path": ["orders"],
                "where": group(prop("status", "equals", value="completed")),
            },
            {
                "kind": "relation",
                "path": ["orders"],
                "negate": True,
                "where": group(prop("status", "equals", value="refunded")),
            },
        )
    },
    "relation_multi_hop": {
        "conditions": group(
            {
                "kind": "relation",
                "path": ["orders", "items", "product"],
                "where": group(prop("category", "equals", value="shoes")),
            },
            {
                "kind": "relation",
                "path": ["company"],
                "where": group(prop("industry", "in", values=["retail", "media"])),
            },
        )
    },
    "relation_aggregates": {
        "conditions": group(
            {
                "kind": "relation",
                "path": ["orders"],
                "aggregate": {"function": "sum", "field": "total", "operator": "gt", "value": 500},
            },
            {
                "kind": "relation",
                "path": ["orders"],
                "aggregate": {"function": "count", "operator": "lt", "value": 3},
            },
            {
                "kind": "relation",
                "path": ["orders"],
                "aggregate": {"function": "avg", "field": "total", "operator": "between", "values": [20, 80]},
            },
            {
                "kind": "relation",
                "path": ["orders", "items"],
                "aggregate": {"function": "max", "field": "quantity", "operator": "gte", "value": 2},
            },
        )
    },
    "events_in_windows": {
        "conditions": group(
            {
                "kind": "event",
                "relationship": "events",
                "event_name": "purchase",
                "frequency": {"operator": "at_least", "count": 2},
                "window": {"kind": "last_days", "days": 30},
                "where": group(
                    {
                        "kind": "property",
                        "field": "properties",
                        "path": ["revenue"],
                        "operator": "gt",
                        "value": 50,
                    }
                ),
            },
            {
                "kind": "event",
                "relationship": "events",
                "event_name": "email_open",
                "negate": True,
                "window": {"kind": "between", "start": "2024-01-01", "end": "2024-01-31"},
            },
            {
                "kind": "event",
                "relationship": "events",
                "event_name": "add_to_cart",
                "frequency": {"operator": "exactly", "count": 1},
            },
        )
    },
    "segment_membership_and_exclusions": {
        "conditions": group({"kind": "segment", "segment_id": "vip"}, prop("age", "gte", value=21)),
        "exclusions": [
            {"kind": "segment", "segment_id": "opted_out"},
            prop("email", "is_null"),
        ],
    },
    "literals_are_literals": {
        "conditions": group(
            prop("country", "equals", value="'; DROP TABLE users; --"),
            prop("email", "contains", value='Zoë "日本" \\ %_'),
            op="or",
        )
    },
}
SAVED = {
    "vip": SegmentSpec(
        "vip",
        "VIP",
        "users",
        definition=SegmentDefinition.model_validate(
            {"conditions": group(prop("tier", "equals", value="gold"))}
        ),
    ),
    "opted_out": SegmentSpec(
        "opted_out",
        "Opted out",
        "users",
        definition=SegmentDefinition.model_validate({"conditions": group(prop("vip", "is_null"))}),
    ),
}


def _sql(name: str, dialect: str) -> str:
    compiler = SegmentCompiler(unbound_catalog(dialect), now=NOW, segments=StaticSegments(SAVED))
    spec = SegmentSpec(name, name, "users", definition=SegmentDefinition.model_validate(CATALOGUE[name]))
    return segment_sql(compiler, spec).strip() + "\n"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_compiled_sql_matches_the_golden_file(name: str, dialect: str) -> None:
    path = GOLDEN / f"{name}.{dialect}.sql"
    sql = _sql(name, dialect)
    if os.environ.get("SLUICE_UPDATE_GOLDEN"):
        path.write_text(sql)
    assert path.exists(), f"missing golden file {path.name}; run with SLUICE_UPDATE_GOLDEN=1"
    assert sql == path.read_text()
    sqlglot.parse_one(sql, read=dialect)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_golden_duckdb_sql_runs_on_duckdb(name: str) -> None:
    catalog = duckdb_catalog({"users": [{"user_id": 1, "row_no": 0, "email": "anna@example.fr"}]})
    backend = catalog.tables["users"]._find_backend()
    backend.raw_sql((GOLDEN / f"{name}.duckdb.sql").read_text()).fetchall()


def test_user_values_are_quoted_literals_in_every_dialect() -> None:
    for dialect in DIALECTS:
        sql = _sql("literals_are_literals", dialect)
        assert "DROP TABLE users; --" in sql
        statements = sqlglot.parse(sql, read=dialect)
        assert len(statements) == 1, dialect
