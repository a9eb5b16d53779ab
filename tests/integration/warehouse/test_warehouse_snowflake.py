"""Snowflake through fakesnow: Ibis compiles to the snowflake dialect, the (patched) connector runs it."""

from __future__ import annotations

from collections.abc import Iterator

import fakesnow
import pytest
import snowflake.connector
from fastapi.testclient import TestClient

USERS = [
    (1, "ann@example.com", "SE", "2024-01-01"),
    (2, "bob@example.com", "FR", "2024-01-02"),
    (2, "bob2@example.com", "FR", "2024-01-03"),
    (None, "nokey@example.com", "SE", "2024-01-04"),
    (3, "cy@example.com", "SE", "2024-01-05"),
]
ORDERS = [
    (10, 1, 20.0, "completed", "2024-02-01"),
    (11, 1, 30.0, "completed", "2024-03-01"),
    (12, 1, 99.0, "refunded", "2024-04-01"),
    (13, 3, 5.0, "completed", "2024-02-10"),
]


@pytest.fixture
def snowflake_source(client: TestClient) -> Iterator[str]:
    with fakesnow.patch():
        conn = snowflake.connector.connect(database="SHOP", schema="PUBLIC")
        cursor = conn.cursor()
        cursor.execute(
            "CREATE TABLE USERS (USER_ID INT, EMAIL VARCHAR, COUNTRY VARCHAR, CREATED_AT TIMESTAMP_NTZ)"
        )
        cursor.executemany("INSERT INTO USERS VALUES (%s, %s, %s, %s)", USERS)
        cursor.execute(
            "CREATE TABLE ORDERS (ORDER_ID INT, USER_ID INT, TOTAL FLOAT, STATUS VARCHAR, ORDERED_AT TIMESTAMP_NTZ)"
        )
        cursor.executemany("INSERT INTO ORDERS VALUES (%s, %s, %s, %s, %s)", ORDERS)
        body = {
            "name": "snow",
            "type": "snowflake",
            "config": {"account": "acme-test", "user": "sluice", "database": "SHOP"},
            "secrets": {"password": "pw-snow-1"},
        }
        response = client.post("/api/v1/sources", json=body)
        assert response.status_code == 201, response.text
        yield str(response.json()["id"])


def _model(client: TestClient, source_id: str, **body: object) -> dict:
    response = client.post("/api/v1/models", json={"source_id": source_id} | body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_connection_and_introspection(client: TestClient, snowflake_source: str) -> None:
    report = client.post(f"/api/v1/sources/{snowflake_source}/test").json()
    assert report["ok"], report
    assert report["bookkeeping"]["writable"] is True
    schemas = {
        item["name"]: item["tables"]
        for item in client.get(f"/api/v1/sources/{snowflake_source}/schemas").json()["schemas"]
    }
    assert {"USERS", "ORDERS"} <= set(schemas["PUBLIC"])
    columns = client.get(f"/api/v1/sources/{snowflake_source}/schemas/PUBLIC/tables/ORDERS").json()["columns"]
    assert [(c["name"], c["type"]) for c in columns] == [
        ("ORDER_ID", "integer"),
        ("USER_ID", "integer"),
        ("TOTAL", "float"),
        ("STATUS", "string"),
        ("ORDERED_AT", "timestamp"),
    ]


def test_preview_duplicates_relationships_and_calculated_fields(
    client: TestClient, snowflake_source: str
) -> None:
    users = _model(
        client,
        snowflake_source,
        name="users",
        type="users",
        table={"name": "USERS"},
        primary_key="user_id",
        fields=[
            {"name": "user_id", "column": "USER_ID"},
            {"name": "email", "column": "EMAIL", "meaning": "email"},
            {"name": "country", "column": "COUNTRY", "categorical": True},
        ],
    )
    orders = _model(
        client,
        snowflake_source,
        name="orders",
        type="events",
        sql="SELECT ORDER_ID AS order_id, USER_ID AS user_id, TOTAL AS total, STATUS AS status, ORDERED_AT AS ordered_at FROM ORDERS",
        primary_key="ORDER_ID",
        timestamp_field="ORDERED_AT",
    )
    preview = client.get(f"/api/v1/models/{users['id']}/preview").json()
    assert len(preview["rows"]) == 5
    health = client.get(f"/api/v1/models/{users['id']}/key-health").json()
    assert (health["duplicate_keys"], health["duplicate_rows"], health["null_keys"]) == (1, 2, 1)
    assert health["sample_duplicates"] == [{"key": 2, "rows": 2}]
    link = client.post(
        f"/api/v1/models/{users['id']}/relationships",
        json={
            "kind": "has_many",
            "to_model_id": orders["id"],
            "from_field": "user_id",
            "to_field": "USER_ID",
        },
    )
    assert link.status_code == 201, link.text
    for name, calc in {
        "spend": {"function": "sum", "field": "total", "filter": "status = 'completed'"},
        "orders_count": {"function": "count"},
    }.items():
        response = client.post(
            f"/api/v1/models/{users['id']}/fields",
            json={"name": name, "calculation": {"kind": "aggregate", "relationship": "orders"} | calc},
        )
        assert response.status_code == 201, response.text
    rows = client.get(f"/api/v1/models/{users['id']}/preview").json()["rows"]
    by_email = {row["email"]: (row["spend"], row["orders_count"]) for row in rows}
    assert by_email["ann@example.com"] == (50.0, 3)
    assert by_email["cy@example.com"] == (5.0, 1)
    assert by_email["bob@example.com"] == (None, 0)
    values = client.get(f"/api/v1/models/{users['id']}/fields/country/values").json()["values"]
    assert values == [{"value": "SE", "count": 3}, {"value": "FR", "count": 2}]


def test_first_last_aggregate_compiles_to_snowflake(client: TestClient, snowflake_source: str) -> None:
    users = _model(client, snowflake_source, name="users", table={"name": "USERS"}, primary_key="USER_ID")
    orders = _model(client, snowflake_source, name="orders", table={"name": "ORDERS"}, primary_key="ORDER_ID")
    client.post(
        f"/api/v1/models/{users['id']}/relationships",
        json={
            "kind": "has_many",
            "to_model_id": orders["id"],
            "from_field": "USER_ID",
            "to_field": "USER_ID",
        },
    )
    response = client.post(
        f"/api/v1/models/{users['id']}/fields",
        json={
            "name": "last_status",
            "calculation": {
                "kind": "aggregate",
                "relationship": "orders",
                "function": "last",
                "field": "status",
                "order_by": "ordered_at",
            },
        },
    )
    assert response.status_code == 201, response.text
    rows = client.get(f"/api/v1/models/{users['id']}/preview").json()["rows"]
    assert {row["email"]: row["last_status"] for row in rows}["ann@example.com"] == "refunded"
