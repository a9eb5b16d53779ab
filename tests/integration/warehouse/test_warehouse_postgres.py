"""Sources and models on the machine's PostgreSQL: connection problems, drift detection and repair."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from fastapi.testclient import TestClient

from sluice.demo.postgres_load import libpq_url
from sluice.demo.warehouse import build_demo_warehouse
from sluice.warehouse.check import test_connection as check_connection
from sluice.warehouse.configs import PostgresConfig, RedshiftConfig
from sluice.warehouse.open import open_warehouse

pytestmark = pytest.mark.postgres


@pytest.fixture
def demo_pg(pg_database: str) -> str:
    """A PostgreSQL database holding the demo warehouse; its database name."""
    build_demo_warehouse(users=2000, seed=42, url=pg_database)
    return pg_database.rsplit("/", 1)[1]


def _source(client: TestClient, database: str, **config: object) -> str:
    body = {
        "name": f"pg-{secrets.token_hex(3)}",
        "type": "postgres",
        "config": {"host": "127.0.0.1", "database": database} | config,
    }
    response = client.post("/api/v1/sources", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_connection_problems_have_specific_statuses(demo_pg: str) -> None:
    ok = check_connection(PostgresConfig(host="127.0.0.1", database=demo_pg))
    assert ok.ok, ok.message
    assert ok.bookkeeping is not None
    assert ok.bookkeeping.writable
    assert ok.bookkeeping.created
    cases = {
        "unreachable_host": PostgresConfig(host="127.0.0.1", port=1, database=demo_pg),
        "bad_credentials": PostgresConfig(host="127.0.0.1", database=demo_pg, user="no_such_user_x"),
        "missing_database": PostgresConfig(host="127.0.0.1", database="no_such_db_x"),
        "missing_schema": PostgresConfig(host="127.0.0.1", database=demo_pg, default_schema="nope"),
    }
    for status, config in cases.items():
        report = check_connection(config)
        assert (report.ok, report.status) == (False, status), report.message
        assert "Traceback" not in report.message


def test_missing_permission_is_reported(demo_pg: str, pg_server: str) -> None:
    role = f"sluice_limited_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        report = check_connection(PostgresConfig(host="127.0.0.1", database=demo_pg, user=role))
        assert (report.ok, report.status) == (False, "missing_permission"), report.message
        assert "permission denied" in report.message
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')


def test_bookkeeping_without_write_access_says_why(demo_pg: str, pg_server: str, pg_database: str) -> None:
    role = f"sluice_reader_{secrets.token_hex(4)}"
    with psycopg.connect(libpq_url(pg_database), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    try:
        report = check_connection(PostgresConfig(host="127.0.0.1", database=demo_pg, user=role))
        assert report.ok, report.message
        assert report.bookkeeping is not None
        assert report.bookkeeping.writable is False
        assert "cannot write in schema sluice" in report.bookkeeping.message
    finally:
        with psycopg.connect(libpq_url(pg_database), autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')


def test_introspection_preview_and_duplicates(client: TestClient, demo_pg: str, pg_database: str) -> None:
    source_id = _source(client, demo_pg)
    tables = client.get(f"/api/v1/sources/{source_id}/schemas").json()["schemas"]
    assert {"users", "orders"} <= set(next(s for s in tables if s["name"] == "public")["tables"])
    columns = client.get(f"/api/v1/sources/{source_id}/schemas/public/tables/orders").json()["columns"]
    assert next(c for c in columns if c["name"] == "ordered_at")["type"] == "timestamp"
    model = client.post(
        "/api/v1/models",
        json={
            "name": "users",
            "source_id": source_id,
            "type": "users",
            "table": {"name": "users"},
            "primary_key": "user_id",
        },
    ).json()
    health = client.get(f"/api/v1/models/{model['id']}/key-health").json()
    with psycopg.connect(libpq_url(pg_database)) as pg:
        dups = pg.execute(
            "SELECT count(*) FROM (SELECT user_id FROM users WHERE user_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d"
        ).fetchone()
    assert dups is not None
    assert health["duplicate_keys"] == dups[0] > 0
    preview = client.get(f"/api/v1/models/{model['id']}/preview", params={"limit": 3}).json()
    assert len(preview["rows"]) == 3


def test_dropped_column_breaks_the_field_and_the_api_repairs_it(
    client: TestClient, demo_pg: str, pg_database: str
) -> None:
    source_id = _source(client, demo_pg)
    model = client.post(
        "/api/v1/models",
        json={
            "name": "users",
            "source_id": source_id,
            "type": "users",
            "table": {"name": "users"},
            "primary_key": "user_id",
        },
    ).json()
    upper_city = client.post(
        f"/api/v1/models/{model['id']}/fields",
        json={"name": "city_upper", "calculation": {"kind": "expression", "expression": "upper(city)"}},
    )
    assert upper_city.status_code == 201, upper_city.text
    assert client.post(f"/api/v1/models/{model['id']}/schema-check").json()["broken_fields"] == []
    with psycopg.connect(libpq_url(pg_database), autocommit=True) as pg:
        pg.execute("ALTER TABLE users DROP COLUMN phone")
        pg.execute("ALTER TABLE users RENAME COLUMN city TO town")

    on_preview = client.get(f"/api/v1/models/{model['id']}/preview", params={"limit": 2})
    assert on_preview.status_code == 200, (
        on_preview.text
    )  # the preview runs the check and leaves broken fields out
    assert "phone" not in on_preview.json()["rows"][0]
    seen = {
        item["name"]: item["broken_reason"]
        for item in client.get(f"/api/v1/models/{model['id']}").json()["fields"]
    }
    assert seen["phone"] == "column 'phone' no longer exists in the source"

    check = client.post(f"/api/v1/models/{model['id']}/schema-check").json()
    broken = {item["field"]: item for item in check["broken_fields"]}
    assert set(broken) == {"phone", "city"}
    assert "no longer exists" in broken["phone"]["reason"]
    assert broken["city"]["suggestion"] is not None
    assert {
        "kind": "calculated_field",
        "name": "city_upper",
        "reason": "uses broken field users.city",
    } in check["affected"]
    fields = {item["name"]: item for item in client.get(f"/api/v1/models/{model['id']}").json()["fields"]}
    assert fields["phone"]["broken_reason"]
    assert fields["city_upper"]["broken_reason"]
    preview = client.get(f"/api/v1/models/{model['id']}/preview", params={"limit": 2})
    assert preview.status_code == 200  # broken fields are left out, the rest still works
    assert "phone" not in preview.json()["rows"][0]

    relinked = client.patch(f"/api/v1/models/{model['id']}/fields/city", json={"column": "town"})
    assert relinked.status_code == 200, relinked.text
    assert relinked.json()["broken_reason"] is None
    assert client.delete(f"/api/v1/models/{model['id']}/fields/phone").status_code == 204

    final = client.post(f"/api/v1/models/{model['id']}/schema-check").json()
    assert final["broken_fields"] == []
    assert final["affected"] == []
    fields = {item["name"]: item for item in client.get(f"/api/v1/models/{model['id']}").json()["fields"]}
    assert "phone" not in fields
    assert fields["city_upper"]["broken_reason"] is None
    rows = client.get(f"/api/v1/models/{model['id']}/preview", params={"limit": 5}).json()["rows"]
    assert any(row["city_upper"] for row in rows)


def test_redshift_connection_path_runs_over_the_postgres_wire_protocol(demo_pg: str) -> None:
    """Redshift speaks the PostgreSQL protocol: its DB-API path (psycopg, redshift-dialect SQL) runs here.

    Redshift-only behaviour (its SQL engine, IAM auth) cannot be run on this machine; golden SQL covers the dialect.
    """
    config = RedshiftConfig(host="127.0.0.1", port=5432, database=demo_pg, user="postgres", sslmode="disable")
    with open_warehouse(config) as warehouse:
        assert {"users", "orders"} <= set(warehouse.list_tables("public"))
        orders = warehouse.query("SELECT order_id, user_id, status FROM orders")
        counts = orders.group_by("status").aggregate(n=orders.count()).order_by("status")
        result = warehouse.to_pyarrow(counts).to_pylist()
    assert {row["status"] for row in result} == {"completed", "refunded", "cancelled"}
    assert all(row["n"] > 0 for row in result)
    report = check_connection(config)
    assert report.ok, report.message


def test_relationships_and_calculated_fields_on_postgres(
    client: TestClient, demo_pg: str, pg_database: str
) -> None:
    source_id = _source(client, demo_pg)

    def model(**body: object) -> str:
        response = client.post("/api/v1/models", json={"source_id": source_id} | body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    users = model(name="users", type="users", table={"name": "users"}, primary_key="user_id")
    orders = model(
        name="orders",
        type="events",
        table={"name": "orders"},
        primary_key="order_id",
        timestamp_field="ordered_at",
    )
    link = client.post(
        f"/api/v1/models/{users}/relationships",
        json={"kind": "has_many", "to_model_id": orders, "from_field": "user_id", "to_field": "user_id"},
    )
    assert link.status_code == 201, link.text
    calculations = {
        "spend": {"function": "sum", "field": "total", "filter": "status = 'completed'"},
        "orders_n": {"function": "count"},
        "first_channel": {"function": "first", "field": "channel"},
    }
    for name, calc in calculations.items():
        response = client.post(
            f"/api/v1/models/{users}/fields",
            json={"name": name, "calculation": {"kind": "aggregate", "relationship": "orders"} | calc},
        )
        assert response.status_code == 201, response.text
    rows = client.get(f"/api/v1/models/{users}/preview", params={"limit": 200}).json()["rows"]
    with psycopg.connect(libpq_url(pg_database)) as pg:
        expected = dict(
            pg.execute(
                "SELECT user_id, count(*) FROM orders WHERE user_id IN (SELECT user_id FROM users) GROUP BY 1"
            ).fetchall()
        )
    for row in rows:
        if row["user_id"] is not None:
            assert row["orders_n"] == expected.get(row["user_id"], 0)
    assert any(row["spend"] for row in rows)
    assert {row["first_channel"] for row in rows} - {None} <= {"web", "app", "store"}
