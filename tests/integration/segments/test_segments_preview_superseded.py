"""A newer preview from the same builder stops the older one still running (409 superseded)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from sluice.segments.inflight import INFLIGHT_PREVIEWS

# Half a billion generated rows, each tested by a string condition: runs for minutes unless stopped.
SLOW_SQL = "SELECT i AS id, 'user' || i || '@example.com' AS email FROM range(500000000) t(i)"
CONTAINS_ZZZ = {
    "conditions": {
        "conditions": [{"kind": "property", "field": "email", "operator": "contains", "value": "zzz"}]
    }
}


def _model(client: TestClient, source_id: str, name: str, **shape: Any) -> str:
    body = {"name": name, "source_id": source_id, "type": "users", "primary_key": "id", **shape}
    response = client.post("/api/v1/models", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_newer_preview_with_the_same_key_stops_the_running_one(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE people AS SELECT 1 AS id, 'a@x.io' AS email")
    source = client.post(
        "/api/v1/sources", json={"name": "shop", "type": "duckdb", "config": {"path": str(path)}}
    )
    assert source.status_code == 201, source.text
    slow = _model(client, source.json()["id"], "everyone", sql=SLOW_SQL)
    fast = _model(client, source.json()["id"], "people", table={"schema": "main", "name": "people"})

    answers: dict[str, Any] = {}

    def first_preview() -> None:
        answers["first"] = client.post(
            "/api/v1/segments/preview",
            json={"model_id": slow, "definition": CONTAINS_ZZZ, "preview_key": "builder-1", "explain": False},
        )

    started = time.monotonic()
    worker = threading.Thread(target=first_preview, daemon=True)
    worker.start()
    while INFLIGHT_PREVIEWS.running() == 0:
        assert worker.is_alive(), answers["first"].text
        assert time.monotonic() - started < 30, "the first preview never started"
        time.sleep(0.05)
    time.sleep(0.3)  # the slow query is running in the warehouse now

    second = client.post(
        "/api/v1/segments/preview",
        json={"model_id": fast, "definition": {}, "preview_key": "builder-1", "explain": False},
    )
    worker.join(timeout=30)
    assert not worker.is_alive(), "the superseded preview kept running"
    assert second.status_code == 200, second.text
    assert second.json()["count"] == 1
    first = answers["first"]
    assert first.status_code == 409, first.text
    assert first.json()["code"] == "superseded"
    assert time.monotonic() - started < 30
