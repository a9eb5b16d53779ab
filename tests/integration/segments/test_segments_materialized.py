"""Materialised segments: membership conditions read the keys in the bookkeeping schema while the
segment is unchanged and the keys are fresh, and re-evaluate the conditions otherwise."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluice.demo.models import seed_demo_models
from sluice.demo.warehouse import build_demo_warehouse
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.sources import Source

AS_OF = date(2026, 1, 15)
NOW = datetime(2026, 1, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("materialized-demo") / "demo.duckdb"
    build_demo_warehouse(users=1500, seed=7, path=path, as_of=AS_OF)
    return path


@pytest.fixture
def warehouse(client: TestClient, sqlite_database: Database, demo_file: Path, tmp_path: Path) -> Path:
    """A writable copy of the demo warehouse whose source has a bookkeeping schema."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_file, path)
    with sqlite_database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(sqlite_database, workspace_id, path)
    with sqlite_database.session() as session:
        source = session.scalars(select(Source)).one()
        source.config = {**source.config, "read_only": False, "bookkeeping_schema": "sluice"}
    return path


def _segment(client: TestClient, name: str, conditions: list[dict[str, object]]) -> str:
    models = client.get("/api/v1/models", params={"limit": 100}).json()["items"]
    users = next(m["id"] for m in models if m["name"] == "users")
    body = {
        "name": name,
        "model_id": users,
        "type": "conditions",
        "definition": {"conditions": {"kind": "group", "op": "and", "conditions": conditions}},
    }
    response = client.post("/api/v1/segments", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _count(client: TestClient, segment_id: str, now: datetime = NOW) -> int:
    response = client.get(f"/api/v1/segments/{segment_id}/estimate", params={"now": now.isoformat()})
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


def _sql(client: TestClient, segment_id: str, now: datetime = NOW) -> str:
    response = client.get(f"/api/v1/segments/{segment_id}/sql", params={"now": now.isoformat()})
    assert response.status_code == 200, response.text
    return str(response.json()["sql"])


GOLD: list[dict[str, object]] = [
    {"kind": "property", "field": "loyalty_tier", "operator": "in", "values": ["gold"]}
]


def test_membership_reads_materialised_keys_until_the_segment_changes_or_they_age(
    client: TestClient, warehouse: Path
) -> None:
    gold = _segment(client, "Gold", GOLD)
    french_gold = _segment(
        client,
        "French gold",
        [
            {"kind": "segment", "segment_id": gold},
            {"kind": "property", "field": "country", "operator": "in", "values": ["FR"]},
        ],
    )
    inline_count = _count(client, french_gold)
    assert inline_count > 0

    done = client.post(f"/api/v1/segments/{gold}/materialize", params={"now": NOW.isoformat()})
    assert done.status_code == 200, done.text
    table = done.json()["table"]
    assert done.json()["rows"] == _count(client, gold)
    assert client.get(f"/api/v1/segments/{gold}").json()["materialized_rows"] == done.json()["rows"]
    assert table in _sql(client, french_gold)
    assert _count(client, french_gold) == inline_count

    # The keys are a snapshot: new gold members in the warehouse show once it is materialised again.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE users SET loyalty_tier = 'gold' WHERE country = 'FR' AND loyalty_tier <> 'gold'")
        french = con.execute("SELECT count(*) FROM users WHERE country = 'FR'").fetchone()
    assert french is not None
    assert _count(client, french_gold) == inline_count
    # Overlap analyses read the keys too (the conditions would now find every French user gold).
    overlap = client.post(
        "/api/v1/segments/overlap", json={"segment_ids": [gold, french_gold], "now": NOW.isoformat()}
    )
    assert overlap.status_code == 200, overlap.text
    sizes = {tuple(item["segment_ids"]): item["count"] for item in overlap.json()["intersections"]}
    assert sizes[(gold, french_gold)] == inline_count
    later = NOW + timedelta(hours=1)
    assert (
        client.post(f"/api/v1/segments/{gold}/materialize", params={"now": later.isoformat()}).status_code
        == 200
    )
    assert _count(client, french_gold, later) == french[0]

    # Keys older than a day are not used: the conditions are evaluated again.
    next_week = NOW + timedelta(days=7)
    assert table not in _sql(client, french_gold, next_week)
    assert _count(client, french_gold, next_week) == french[0]

    # Editing the segment invalidates its keys at once.
    edited = client.patch(
        f"/api/v1/segments/{gold}",
        json={
            "definition": {"conditions": {"kind": "group", "op": "and", "conditions": GOLD, "negate": True}}
        },
    )
    assert edited.status_code == 200, edited.text
    assert table not in _sql(client, french_gold, later)
    assert _count(client, french_gold, later) == 0
