"""Databricks SQL through a local Spark session (Ibis's pyspark backend speaks the same Spark SQL).

The Databricks connector itself needs a workspace; the model service, catalog, introspection,
key health and calculated fields run here on Spark exactly as they do on Databricks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import pytest
from sqlalchemy.orm import Session

from sluice.models import service
from sluice.models.calculations import AggregateFunction, RelatedAggregate
from sluice.models.catalog import ModelType, RelationshipKind
from sluice.models.health import key_health, top_values
from sluice.schemas.models import FieldSpec, ModelCreate, RelationshipCreate, TableRef
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.sources import Source
from sluice.warehouse.bookkeeping import check_bookkeeping
from sluice.warehouse.connection import IbisWarehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IbisWarehouse]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    root: Path = tmp_path_factory.mktemp("spark")
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("sluice-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", str(root / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={root}")
        .getOrCreate()
    )
    spark.sql("CREATE DATABASE IF NOT EXISTS shop")
    spark.createDataFrame(
        [
            (1, "ann@example.com", "SE"),
            (2, "bob@example.com", "FR"),
            (2, "bob2@example.com", "FR"),
            (None, "x@example.com", "SE"),
        ],
        "user_id bigint, email string, country string",
    ).write.mode("overwrite").saveAsTable("shop.users")
    spark.createDataFrame(
        [(10, 1, 20.0, "completed"), (11, 1, 30.0, "completed"), (12, 2, 7.0, "refunded")],
        "order_id bigint, user_id bigint, total double, status string",
    ).write.mode("overwrite").saveAsTable("shop.orders")
    yield IbisWarehouse(ibis.pyspark.connect(spark), dialect="databricks", default_schema="shop")
    spark.stop()


def _source(session: Session) -> tuple[str, str]:
    workspace_id = ensure_default_workspace(session).id
    source = Source(
        workspace_id=workspace_id,
        name="databricks",
        type="databricks",
        config={"server_hostname": "dbc.example.com", "http_path": "/sql/1.0/warehouses/x"},
    )
    session.add(source)
    session.flush()
    return workspace_id, source.id


def test_models_on_spark(sqlite_database: Database, spark_warehouse: IbisWarehouse) -> None:
    assert "shop" in spark_warehouse.list_schemas()
    assert {"users", "orders"} <= set(spark_warehouse.list_tables("shop"))
    with sqlite_database.session() as session:
        workspace_id, source_id = _source(session)
        users = service.create_model(
            session,
            workspace_id,
            ModelCreate(
                name="users",
                source_id=source_id,
                type=ModelType.USERS,
                table=TableRef(name="users"),
                primary_key="user_id",
            ),
            spark_warehouse,
        )
        orders = service.create_model(
            session,
            workspace_id,
            ModelCreate(
                name="orders", source_id=source_id, sql="SELECT * FROM shop.orders", primary_key="order_id"
            ),
            spark_warehouse,
        )
        service.create_relationship(
            session,
            users,
            RelationshipCreate(
                kind=RelationshipKind.HAS_MANY,
                to_model_id=orders.id,
                from_field="user_id",
                to_field="user_id",
            ),
        )
        service.add_field(
            session,
            users,
            FieldSpec(
                name="spend",
                calculation=RelatedAggregate(
                    relationship="orders",
                    function=AggregateFunction.SUM,
                    field="total",
                    filter="status = 'completed'",
                ),
            ),
            spark_warehouse,
        )
        catalog = service.catalog_for(session, workspace_id, source_id, spark_warehouse)
        health = key_health(catalog, "users")
        assert (health.duplicate_keys, health.duplicate_rows, health.null_keys) == (1, 2, 1)
        table = catalog.table("users")
        rows = catalog.to_pyarrow(table.order_by("email")).to_pylist()
        assert {row["email"]: row["spend"] for row in rows}["ann@example.com"] == 50.0
        assert top_values(catalog, "users", "country") == [("FR", 2), ("SE", 2)]


def test_bookkeeping_schema_on_spark(spark_warehouse: IbisWarehouse) -> None:
    status = check_bookkeeping(spark_warehouse, "sluice")
    assert status.writable, status.message
