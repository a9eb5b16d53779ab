"""Models and sources through the REST API on a DuckDB file: what a user sees, including the 4xx cases."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from sluice.demo.warehouse import build_demo_warehouse


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo-api") / "demo.duckdb"
    build_demo_warehouse(users=2000, seed=7, path=path)
    return path


@pytest.fixture
def source_id(client: TestClient, demo_file: Path) -> str:
    response = client.post(
        "/api/v1/sources", json={"name": "demo", "type": "duckdb", "config": {"path": str(demo_file)}}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _users(client: TestClient, source_id: str) -> dict:
    body = {
        "name": "users",
        "source_id": source_id,
        "type": "users",
        "table": {"schema": "main", "name": "users"},
        "primary_key": "user_id",
    }
    response = client.post("/api/v1/models", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_source_types_publish_json_schema_with_write_only_secrets(client: TestClient) -> None:
    types = {row["name"]: row for row in client.get("/api/v1/source-types").json()}
    assert set(types) == {"duckdb", "postgres", "snowflake", "bigquery", "databricks", "redshift"}
    password = types["snowflake"]["json_schema"]["properties"]["password"]["anyOf"][0]
    assert password == {"format": "password", "type": "string", "writeOnly": True}
    assert types["databricks"]["secret_fields"] == ["access_token"]


def test_secret_in_config_or_unknown_type_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sources", json={"name": "pg", "type": "postgres", "config": {"host": "h", "password": "x"}}
    )
    assert response.status_code == 422
    assert "secret" in response.json()["detail"]
    response = client.post("/api/v1/sources", json={"name": "x", "type": "oracle"})
    assert response.status_code == 422
    assert "unknown source type" in response.json()["detail"]


def test_connection_test_and_introspection(client: TestClient, source_id: str, tmp_path: Path) -> None:
    report = client.post(f"/api/v1/sources/{source_id}/test").json()
    assert report["ok"], report
    assert report["bookkeeping"]["writable"] is True
    schemas = client.get(f"/api/v1/sources/{source_id}/schemas").json()
    main = next(item for item in schemas["schemas"] if item["name"] == "main")
    assert {"users", "orders", "events"} <= set(main["tables"])
    columns = client.get(f"/api/v1/sources/{source_id}/schemas/main/tables/users").json()["columns"]
    assert {"name": "email", "type": "string", "warehouse_type": "string"} in columns
    missing = client.post(
        "/api/v1/sources",
        json={"name": "gone", "type": "duckdb", "config": {"path": str(tmp_path / "nope.duckdb")}},
    ).json()
    report = client.post(f"/api/v1/sources/{missing['id']}/test").json()
    assert report["ok"] is False
    assert report["status"] == "missing_database"
    assert "nope.duckdb" in report["message"]
    assert client.get(f"/api/v1/sources/{missing['id']}").json()["last_test_status"] == "missing_database"


def test_model_from_table_detects_types_and_previews(client: TestClient, source_id: str) -> None:
    model = _users(client, source_id)
    fields = {item["name"]: item for item in model["fields"]}
    assert fields["user_id"]["type"] == "integer"
    assert fields["created_at"]["type"] == "timestamp"
    assert fields["email_consent"]["type"] == "boolean"
    preview = client.get(f"/api/v1/models/{model['id']}/preview", params={"limit": 5}).json()
    assert len(preview["rows"]) == 5
    assert "email" in preview["rows"][0]


def test_duplicate_and_null_keys_of_demo_data_are_found(
    client: TestClient, source_id: str, demo_file: Path
) -> None:
    model = _users(client, source_id)
    health = client.get(f"/api/v1/models/{model['id']}/key-health").json()
    con = duckdb.connect(str(demo_file), read_only=True)
    dup_keys, dup_rows = con.sql(
        "SELECT count(*), sum(n) FROM (SELECT user_id, count(*) n FROM users WHERE user_id IS NOT NULL GROUP BY 1 HAVING n > 1)"
    ).fetchone()
    nulls = con.sql("SELECT count(*) FROM users WHERE user_id IS NULL").fetchone()[0]
    assert dup_keys > 0
    assert (health["duplicate_keys"], health["duplicate_rows"], health["null_keys"]) == (
        dup_keys,
        dup_rows,
        nulls,
    )
    assert health["healthy"] is False
    assert health["sample_duplicates"][0]["rows"] >= 2


def test_primary_key_cannot_change_or_be_deleted(client: TestClient, source_id: str) -> None:
    model = _users(client, source_id)
    response = client.patch(f"/api/v1/models/{model['id']}", json={"primary_key": "email"})
    assert response.status_code == 409
    assert "primary key" in response.json()["detail"]
    assert client.delete(f"/api/v1/models/{model['id']}/fields/user_id").status_code == 409
    renamed = client.patch(f"/api/v1/models/{model['id']}/fields/user_id", json={"name": "uid"})
    assert renamed.status_code == 409


def test_bad_model_input_is_a_clear_4xx(client: TestClient, source_id: str) -> None:
    base = {"name": "m", "source_id": source_id, "primary_key": "user_id"}
    unknown = client.post(
        "/api/v1/models",
        json=base
        | {"table": {"name": "users"}, "fields": [{"name": "user_id"}, {"name": "x", "column": "nope"}]},
    )
    assert unknown.status_code == 422
    assert "unknown column 'nope'" in unknown.json()["detail"]
    syntax = client.post("/api/v1/models", json=base | {"sql": "SELEC user_id FROM users"})
    assert syntax.status_code == 422
    assert syntax.json()["code"] == "warehouse_query_error"
    assert "syntax error" in syntax.json()["detail"].lower()
    write = client.post("/api/v1/models", json=base | {"sql": "DELETE FROM users"})
    assert write.status_code == 422
    assert "read-only SELECT" in write.json()["detail"]
    several = client.post("/api/v1/models", json=base | {"sql": "SELECT 1 AS user_id; DROP TABLE users"})
    assert several.status_code == 422
    events = client.post(
        "/api/v1/models",
        json=base | {"name": "ev", "type": "events", "table": {"name": "events"}, "primary_key": "event_id"},
    )
    assert events.status_code == 422
    assert "timestamp" in events.json()["detail"]


def test_sql_model_relationships_and_calculated_fields(client: TestClient, source_id: str) -> None:
    users = _users(client, source_id)
    orders = client.post(
        "/api/v1/models",
        json={
            "name": "orders",
            "source_id": source_id,
            "type": "events",
            "sql": "SELECT order_id, user_id, total, status, ordered_at FROM orders",
            "primary_key": "order_id",
            "timestamp_field": "ordered_at",
        },
    )
    assert orders.status_code == 201, orders.text
    order_id = orders.json()["id"]
    bad = client.post(
        f"/api/v1/models/{users['id']}/relationships",
        json={"kind": "has_many", "to_model_id": order_id, "from_field": "email", "to_field": "user_id"},
    )
    assert bad.status_code == 422
    assert "incompatible types" in bad.json()["detail"]
    link = client.post(
        f"/api/v1/models/{users['id']}/relationships",
        json={"kind": "has_many", "to_model_id": order_id, "from_field": "user_id", "to_field": "user_id"},
    )
    assert link.status_code == 201, link.text
    spent = client.post(
        f"/api/v1/models/{users['id']}/fields",
        json={
            "name": "completed_spend",
            "calculation": {
                "kind": "aggregate",
                "relationship": "orders",
                "function": "sum",
                "field": "total",
                "filter": "status = 'completed'",
            },
        },
    )
    assert spent.status_code == 201, spent.text
    assert spent.json()["type"] == "float"
    last = client.post(
        f"/api/v1/models/{users['id']}/fields",
        json={
            "name": "last_status",
            "calculation": {
                "kind": "aggregate",
                "relationship": "orders",
                "function": "last",
                "field": "status",
            },
        },
    )
    assert last.status_code == 201, last.text
    shout = client.post(
        f"/api/v1/models/{users['id']}/fields",
        json={"name": "shout", "calculation": {"kind": "expression", "expression": "upper(nope)"}},
    )
    assert shout.status_code == 422
    assert "unknown field 'nope'" in shout.json()["detail"]
    rows = client.get(f"/api/v1/models/{users['id']}/preview", params={"limit": 50}).json()["rows"]
    assert any(row["completed_spend"] for row in rows)
    assert {row["last_status"] for row in rows} - {None} <= {"completed", "refunded", "cancelled"}


def test_categorical_values_are_cached_and_refreshable(client: TestClient, source_id: str) -> None:
    model = _users(client, source_id)
    assert (
        client.patch(
            f"/api/v1/models/{model['id']}/fields/loyalty_tier", json={"categorical": True}
        ).status_code
        == 200
    )
    first = client.get(f"/api/v1/models/{model['id']}/fields/loyalty_tier/values").json()
    assert {item["value"] for item in first["values"]} == {"bronze", "silver", "gold", "platinum"}
    counts = [item["count"] for item in first["values"]]
    assert counts == sorted(counts, reverse=True)
    again = client.get(f"/api/v1/models/{model['id']}/fields/loyalty_tier/values").json()
    assert again["refreshed_at"] == first["refreshed_at"]
    fresh = client.get(
        f"/api/v1/models/{model['id']}/fields/loyalty_tier/values", params={"refresh": True}
    ).json()
    assert fresh["refreshed_at"] != first["refreshed_at"]


def test_standard_meanings_are_listed_and_enforced(client: TestClient, source_id: str) -> None:
    meanings = {item["name"] for item in client.get("/api/v1/models/meanings").json()}
    assert {"email", "phone", "external_id", "event_name"} <= meanings
    model = _users(client, source_id)
    bad = client.patch(f"/api/v1/models/{model['id']}/fields/email", json={"meaning": "e-mail"})
    assert bad.status_code == 422
    assert "unknown meaning 'e-mail'" in bad.json()["detail"]
    good = client.patch(f"/api/v1/models/{model['id']}/fields/phone", json={"meaning": "phone"})
    assert good.json()["meaning"] == "phone"
    cleared = client.patch(f"/api/v1/models/{model['id']}/fields/phone", json={"meaning": ""})
    assert cleared.json()["meaning"] is None


def test_changing_the_query_marks_missing_columns_broken(client: TestClient, source_id: str) -> None:
    model = client.post(
        "/api/v1/models",
        json={
            "name": "slim",
            "source_id": source_id,
            "sql": "SELECT user_id, email, country FROM users",
            "primary_key": "user_id",
        },
    ).json()
    same_column = client.post(
        f"/api/v1/models/{model['id']}/fields", json={"name": "mail", "column": "email"}
    )
    assert same_column.status_code == 422
    assert "already the source of field 'email'" in same_column.json()["detail"]
    changed = client.patch(f"/api/v1/models/{model['id']}", json={"sql": "SELECT user_id, email FROM users"})
    assert changed.status_code == 200, changed.text
    broken = {item["name"]: item["broken_reason"] for item in changed.json()["fields"]}
    assert broken == {
        "user_id": None,
        "email": None,
        "country": "column 'country' no longer exists in the source",
    }
    no_key = client.patch(f"/api/v1/models/{model['id']}", json={"sql": "SELECT email FROM users"})
    assert no_key.status_code == 422
    assert "primary key" in no_key.json()["detail"]


def test_source_config_patch_merges_and_is_validated(client: TestClient, source_id: str) -> None:
    patched = client.patch(f"/api/v1/sources/{source_id}", json={"config": {"default_schema": "other"}})
    assert patched.status_code == 200, patched.text
    config = patched.json()["config"]
    assert config["default_schema"] == "other"
    assert config["path"].endswith("demo.duckdb")
    report = client.post(f"/api/v1/sources/{source_id}/test").json()
    assert report["status"] == "missing_schema"
    assert "other" in report["message"]
    bad = client.patch(f"/api/v1/sources/{source_id}", json={"config": {"read_only": "sometimes"}})
    assert bad.status_code == 422
    assert "read_only" in bad.json()["detail"]
