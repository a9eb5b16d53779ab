"""Golden SQL of a model with calculated fields, per dialect (BigQuery, Databricks, Redshift, …).

BigQuery, Databricks and Redshift cannot run here; their SQL is pinned by these files.
Regenerate after an intended change with ``SLUICE_UPDATE_GOLDEN=1 pytest tests/unit/models``.
"""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import pytest

from sluice.models.calculations import AggregateFunction, RelatedAggregate, RowExpression
from sluice.models.catalog import FieldType, ModelType, RelationshipInfo, RelationshipKind
from sluice.models.definitions import FieldDefinition, ModelDefinition
from sluice.models.stored import StoredCatalog
from sluice.warehouse.connection import OfflineWarehouse

GOLDEN = Path(__file__).parent / "golden"
DIALECTS = ["bigquery", "databricks", "redshift", "snowflake", "postgres", "duckdb"]


def _catalog(dialect: str) -> StoredCatalog:
    tables = {
        ("shop", "users"): ibis.schema({"user_id": "int64", "first_name": "string", "last_name": "string"}),
        ("shop", "orders"): ibis.schema(
            {
                "order_id": "int64",
                "user_id": "int64",
                "total": "float64",
                "status": "string",
                "ordered_at": "timestamp",
            }
        ),
    }
    users = ModelDefinition(
        id="u",
        name="users",
        type=ModelType.USERS,
        primary_key="user_id",
        table_schema="shop",
        table_name="users",
        fields=[
            FieldDefinition("user_id", FieldType.INTEGER, column="user_id"),
            FieldDefinition("first_name", FieldType.STRING, column="first_name"),
            FieldDefinition("last_name", FieldType.STRING, column="last_name"),
            FieldDefinition(
                "full_name",
                FieldType.STRING,
                calculation=RowExpression(expression="first_name || ' ' || last_name"),
            ),
            FieldDefinition(
                "lifetime_spend",
                FieldType.FLOAT,
                calculation=RelatedAggregate(
                    relationship="orders",
                    function=AggregateFunction.SUM,
                    field="total",
                    filter="status = 'completed'",
                ),
            ),
            FieldDefinition(
                "order_count",
                FieldType.INTEGER,
                calculation=RelatedAggregate(relationship="orders", function=AggregateFunction.COUNT),
            ),
            FieldDefinition(
                "last_status",
                FieldType.STRING,
                calculation=RelatedAggregate(
                    relationship="orders", function=AggregateFunction.LAST, field="status"
                ),
            ),
        ],
    )
    orders = ModelDefinition(
        id="o",
        name="orders",
        type=ModelType.EVENTS,
        primary_key="order_id",
        table_schema="shop",
        table_name="orders",
        timestamp_field="ordered_at",
        fields=[
            FieldDefinition(name, FieldType.STRING, column=name)
            for name in ("order_id", "user_id", "total", "status", "ordered_at")
        ],
    )
    link = RelationshipInfo("orders", RelationshipKind.HAS_MANY, "users", "orders", "user_id", "user_id")
    return StoredCatalog(
        warehouse=OfflineWarehouse(dialect, tables, "shop"),
        definitions={"users": users, "orders": orders},
        links=[link],
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_model_with_calculated_fields_compiles_to_golden_sql(dialect: str) -> None:
    catalog = _catalog(dialect)
    sql = catalog.compile(catalog.table("users")).strip() + "\n"
    path = GOLDEN / f"users_calculated.{dialect}.sql"
    if os.environ.get("SLUICE_UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql)
    assert sql == path.read_text()


def test_only_listed_calculated_fields_are_joined() -> None:
    catalog = _catalog("duckdb")
    table = catalog.table("users", fields=["full_name"])
    assert table.columns == ("user_id", "first_name", "last_name", "full_name")
    assert "JOIN" not in catalog.compile(table)
