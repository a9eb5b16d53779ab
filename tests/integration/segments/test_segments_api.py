"""Segments through the REST API on the demo warehouse: CRUD, preview, SQL, estimate, breakdowns, overlap."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from sluice.bench.segment import hand_written_sql
from sluice.demo.models import seed_demo_models
from sluice.demo.warehouse import build_demo_warehouse
from sluice.segments import demo
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace

AS_OF = date(2026, 1, 15)
NOW = datetime(2026, 1, 15, tzinfo=UTC).isoformat()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo-segments") / "demo.duckdb"
    build_demo_warehouse(users=2000, seed=42, path=path, as_of=AS_OF)
    return path


@pytest.fixture
def seeded(client: TestClient, sqlite_database: Database, demo_file: Path) -> dict[str, str]:
    """Demo models and segments in the client's workspace; returns segment name → id."""
    with sqlite_database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(sqlite_database, workspace_id, demo_file)
    assert demo.seed_demo_segments(sqlite_database, workspace_id) == [
        name for name, _d, _t in demo.DEMO_SEGMENTS
    ]
    assert demo.seed_demo_segments(sqlite_database, workspace_id) == []
    items = client.get("/api/v1/segments").json()["items"]
    return {item["name"]: item["id"] for item in items}


def _users_model_id(client: TestClient) -> str:
    models = client.get("/api/v1/models", params={"limit": 100}).json()["items"]
    return next(m["id"] for m in models if m["name"] == "users")


def test_demo_segments_count_what_hand_written_sql_counts(
    client: TestClient, seeded: dict[str, str], demo_file: Path
) -> None:
    hand = hand_written_sql(datetime.fromisoformat(NOW))
    with duckdb.connect(str(demo_file), read_only=True) as con:
        expected = {name: con.execute(sql).fetchone()[0] for name, sql in hand.items()}  # type: ignore[index]
    for name, segment_id in seeded.items():
        response = client.get(f"/api/v1/segments/{segment_id}/estimate", params={"now": NOW})
        assert response.status_code == 200, response.text
        assert response.json()["count"] == expected[name], name
        assert response.json()["count"] > 0, name


def test_preview_of_a_saved_segment_explains_each_condition(
    client: TestClient, seeded: dict[str, str]
) -> None:
    response = client.get(
        f"/api/v1/segments/{seeded[demo.VIP_FRANCE]}/preview",
        params={"now": NOW, "columns": ["user_id", "country", "total_spent"], "limit": 3},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["user_id", "country", "total_spent"]
    assert len(body["rows"]) == 3
    assert all(row["country"] == "FR" and row["total_spent"] > 1000 for row in body["rows"])
    assert body["model_count"] == 2000
    descriptions = [c["description"] for c in body["conditions"]]
    assert descriptions == [
        "country equals 'FR'",
        "loyalty_tier in 'gold', 'platinum'",
        "total_spent gt 1000",
    ]
    assert all(c["count"] >= body["count"] for c in body["conditions"])


def test_create_update_and_draft_preview(client: TestClient, seeded: dict[str, str]) -> None:
    model_id = _users_model_id(client)
    definition = {
        "conditions": {
            "conditions": [
                {
                    "kind": "property",
                    "field": "country",
                    "operator": "equals",
                    "value": "'; DROP TABLE users; --",
                }
            ]
        }
    }
    draft = client.post(
        "/api/v1/segments/preview", json={"model_id": model_id, "definition": definition, "now": NOW}
    )
    assert draft.status_code == 200, draft.text
    assert draft.json()["count"] == 0
    created = client.post(
        "/api/v1/segments", json={"name": "Nobody", "model_id": model_id, "definition": definition}
    )
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]
    assert client.post("/api/v1/segments", json={"name": "Nobody", "model_id": model_id}).status_code == 409
    everyone = {
        "conditions": {"conditions": []},
        "exclusions": [{"kind": "segment", "segment_id": seeded[demo.CHURN_RISK]}],
    }
    updated = client.patch(f"/api/v1/segments/{segment_id}", json={"definition": everyone})
    assert updated.status_code == 200, updated.text
    estimate = client.get(f"/api/v1/segments/{segment_id}/estimate", params={"now": NOW}).json()["count"]
    churn = client.get(f"/api/v1/segments/{seeded[demo.CHURN_RISK]}/estimate", params={"now": NOW}).json()[
        "count"
    ]
    assert estimate == 2000 - churn
    assert client.delete(f"/api/v1/segments/{segment_id}").status_code == 204
    assert client.get(f"/api/v1/segments/{segment_id}").status_code == 404


def test_membership_cycles_and_bad_fields_are_refused(client: TestClient, seeded: dict[str, str]) -> None:
    vip = seeded[demo.VIP_FRANCE]
    loop = {"conditions": {"conditions": [{"kind": "segment", "segment_id": seeded[demo.LOOKALIKE]}]}}
    response = client.patch(f"/api/v1/segments/{vip}", json={"definition": loop})
    assert response.status_code == 422
    assert "loops back on itself" in response.json()["detail"]
    assert demo.VIP_FRANCE in response.json()["detail"]
    bad = {"conditions": {"conditions": [{"kind": "property", "field": "shoe_size", "operator": "is_null"}]}}
    response = client.post(
        "/api/v1/segments", json={"name": "Bad", "model_id": _users_model_id(client), "definition": bad}
    )
    assert response.status_code == 422
    assert "no field 'shoe_size'" in response.json()["detail"]
    assert client.get("/api/v1/segments").json()["items"][0]["name"] != "Bad"


def test_show_sql_breakdown_and_overlap(client: TestClient, seeded: dict[str, str]) -> None:
    churn = seeded[demo.CHURN_RISK]
    sql = client.get(f"/api/v1/segments/{churn}/sql", params={"now": NOW}).json()
    assert sql["dialect"] == "duckdb"
    assert "'email_open'" in sql["sql"]
    snowflake = client.get(
        f"/api/v1/segments/{churn}/sql", params={"dialect": "snowflake", "now": NOW}
    ).json()
    assert snowflake["dialect"] == "snowflake"
    assert "TIMESTAMP_FROM_PARTS" in snowflake["sql"]
    breakdown = client.get(
        f"/api/v1/segments/{seeded[demo.NEWSLETTER]}/breakdown",
        params={"fields": ["loyalty_tier"], "now": NOW},
    )
    assert breakdown.status_code == 200, breakdown.text
    body = breakdown.json()
    assert sum(b["count"] for b in body["buckets"]) == body["segment_count"]
    assert sum(b["share_of_model"] for b in body["buckets"]) == pytest.approx(1.0)
    ids = [seeded[demo.VIP_FRANCE], seeded[demo.LOOKALIKE], churn]
    overlap = client.post("/api/v1/segments/overlap", json={"segment_ids": ids, "now": NOW})
    assert overlap.status_code == 200, overlap.text
    result: dict[str, Any] = overlap.json()
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    # Every French VIP is in the lookalike seed unless they are a churn risk, which the seed excludes.
    assert pairs[(ids[0], ids[2])]["count"] + pairs[(ids[0], ids[1])]["count"] == result["sizes"][ids[0]]
    assert pairs[(ids[1], ids[2])]["count"] == 0
    assert client.post("/api/v1/segments/overlap", json={"segment_ids": ids[:1]}).status_code == 422


def test_remote_segments_need_a_destination_of_the_workspace(
    client: TestClient, seeded: dict[str, str]
) -> None:
    """The full remote flow (refresh, matching, activation) is in test_segments_remote.py."""
    model_id = _users_model_id(client)
    remote = {"destination_id": "01J0000000000000000000000", "remote_id": "42", "identifier_field": "email"}
    refused = client.post(
        "/api/v1/segments", json={"name": "Openers", "model_id": model_id, "type": "remote", "remote": remote}
    )
    assert refused.status_code == 404
    assert "destination" in refused.json()["detail"]
    assert client.get("/api/v1/segments", params={"limit": 100}).json()["items"][-1]["name"] != "Openers"


def test_materialize_needs_a_bookkeeping_schema(client: TestClient, seeded: dict[str, str]) -> None:
    """The demo source is read-only (no bookkeeping schema); writing keys there is refused clearly."""
    response = client.post(f"/api/v1/segments/{seeded[demo.VIP_FRANCE]}/materialize", params={"now": NOW})
    assert response.status_code == 422
    assert "no bookkeeping schema" in response.json()["detail"]
