"""The stored catalog over the demo warehouse (DuckDB): field-named tables, calculated fields, relationships."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sluice.demo.models import seed_demo_models
from sluice.demo.warehouse import build_demo_warehouse
from sluice.models.catalog import ModelType, RelationshipKind
from sluice.models.stored import load_catalog
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.sources import Source


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo_warehouse(users=2000, seed=42, path=path)
    return path


def _seeded(database: Database, demo_file: Path) -> tuple[str, str]:
    with database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(database, workspace_id, demo_file)
    with database.session() as session:
        source = session.query(Source).filter_by(workspace_id=workspace_id).one()
        return workspace_id, source.id


def test_demo_seed_is_idempotent_and_catalog_lists_models(sqlite_database: Database, demo_file: Path) -> None:
    workspace_id, source_id = _seeded(sqlite_database, demo_file)
    seed_demo_models(sqlite_database, workspace_id, demo_file)
    with sqlite_database.session() as session, load_catalog(session, workspace_id, source_id) as catalog:
        users = catalog.model("users")
        assert users.type == ModelType.USERS
        assert users.primary_key == "user_id"
        assert users.fields["email"].meaning == "email"
        assert users.fields["country"].categorical
        assert users.fields["total_spent"].calculated
        assert catalog.model("events").timestamp_field == "occurred_at"
        assert catalog.model("events").fields["event_name"].meaning == "event_name"
        links = {(link.name, link.kind) for link in catalog.relationships("users")}
        assert ("orders", RelationshipKind.HAS_MANY) in links
        assert ("companies", RelationshipKind.BELONGS_TO) in links
        inverse = {(link.name, link.kind) for link in catalog.relationships("orders")}
        assert ("users", RelationshipKind.BELONGS_TO) in inverse
        assert catalog.dialect == "duckdb"


def test_calculated_fields_match_plain_sql(sqlite_database: Database, demo_file: Path) -> None:
    workspace_id, source_id = _seeded(sqlite_database, demo_file)
    with sqlite_database.session() as session, load_catalog(session, workspace_id, source_id) as catalog:
        table = catalog.table("users", fields=["total_spent", "order_count", "full_name"])
        assert "last_order_at" not in table.columns
        result = catalog.to_pyarrow(table.filter(table.user_id.notnull()).order_by("user_id").limit(200))
    expected = (
        duckdb.connect(str(demo_file), read_only=True)
        .sql(
            """SELECT u.user_id,
                  SUM(o.total) FILTER (WHERE o.status = 'completed') AS total_spent,
                  COUNT(o.order_id) FILTER (WHERE o.status = 'completed') AS order_count,
                  u.first_name || ' ' || u.last_name AS full_name
           FROM users u LEFT JOIN orders o ON o.user_id = u.user_id
           WHERE u.user_id IS NOT NULL
           GROUP BY ALL ORDER BY u.user_id LIMIT 200"""
        )
        .to_arrow_table()
    )
    got = {
        (row["user_id"], row["full_name"]): (row["total_spent"], row["order_count"])
        for row in result.to_pylist()
    }
    want = {
        (row["user_id"], row["full_name"]): (row["total_spent"], row["order_count"])
        for row in expected.to_pylist()
    }
    assert got == want
    assert any(count > 0 for _, count in got.values())


def test_multi_hop_relationship_is_usable(sqlite_database: Database, demo_file: Path) -> None:
    workspace_id, source_id = _seeded(sqlite_database, demo_file)
    with sqlite_database.session() as session, load_catalog(session, workspace_id, source_id) as catalog:
        users = catalog.table("users")
        orders = catalog.table("orders")
        items = catalog.table("order_items", fields=["line_total"])
        products = catalog.table("products")
        hop = {link.name: link for link in catalog.relationships("order_items")}["products"]
        joined = (
            users.join(orders, users.user_id == orders.user_id)
            .join(items, orders.order_id == items.order_id)
            .join(products, items[hop.from_field] == products[hop.to_field])
        )
        buyers = catalog.to_pyarrow(joined.aggregate(n=joined.user_id.nunique()))
    assert buyers["n"][0].as_py() > 0
