"""Identity graphs through the REST API on a DuckDB source: create, run, history, profiles model, lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

CRM = """SELECT * FROM (VALUES
 (1, 'Ann.Lee@Gmail.com', 'C1', 'Ann', 'FR', TIMESTAMP '2024-01-01 00:00:00'),
 (2, 'bob@x.com', 'C2', 'Bob', 'SE', TIMESTAMP '2024-02-01 00:00:00'),
 (3, 'family@x.com', 'C3', 'Carl', 'FR', TIMESTAMP '2024-02-01 00:00:00'),
 (4, 'family@x.com', 'C4', 'Dana', 'FR', TIMESTAMP '2024-02-01 00:00:00')
) AS t(id, email, crm_id, first_name, country, updated_at)"""
NEWS = """SELECT * FROM (VALUES
 (10, 'annlee+promo@gmail.com', 'Anne', TIMESTAMP '2024-03-01 00:00:00'),
 (11, 'BOB@x.com', 'Bobby', TIMESTAMP '2024-01-01 00:00:00')
) AS t(id, email, first_name, signed_up)"""

SPEC: dict[str, Any] = {
    "identifiers": [{"name": "email", "kind": "email", "gmail_normalize": True}, {"name": "crm_id"}],
    "inputs": [
        {
            "model": "crm",
            "identifiers": {"email": "email", "crm_id": "crm_id"},
            "attributes": {"first_name": "first_name", "country": "country"},
            "timestamp": "updated_at",
        },
        {
            "model": "news",
            "identifiers": {"email": "email"},
            "attributes": {"first_name": "first_name"},
            "timestamp": "signed_up",
        },
    ],
    "rules": [{"name": "email", "identifiers": ["email"]}],
    "limits": [{"identifier": "crm_id", "max_values": 1}],
}


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


@pytest.fixture
def graph(client: TestClient, warehouse_path: Path) -> dict[str, Any]:
    path = warehouse_path
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE TABLE crm AS {CRM}")
        con.execute(f"CREATE TABLE news AS {NEWS}")
    source = client.post(
        "/api/v1/sources", json={"name": "w", "type": "duckdb", "config": {"path": str(path)}}
    )
    assert source.status_code == 201, source.text
    for name in ("crm", "news"):
        body = {"name": name, "source_id": source.json()["id"], "table": {"name": name}, "primary_key": "id"}
        assert client.post("/api/v1/models", json=body).status_code == 201
    created = client.post(
        "/api/v1/identity-graphs", json={"name": "People", "source_id": source.json()["id"], "spec": SPEC}
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_run_builds_profiles_usable_as_a_users_model_in_segments(
    client: TestClient, graph: dict[str, Any]
) -> None:
    run = client.post(f"/api/v1/identity-graphs/{graph['id']}/runs")
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["state"] == "succeeded", body
    assert (body["input_rows"], body["profiles"], body["merges"], body["largest_cluster"]) == (6, 4, 2, 2)
    assert any("family@x.com" in warning for warning in body["warnings"])
    model_id = client.get(f"/api/v1/identity-graphs/{graph['id']}").json()["model_id"]
    model = client.get(f"/api/v1/models/{model_id}").json()
    assert model["name"] == "people_profiles"
    assert model["type"] == "users"
    assert model["primary_key"] == "profile_id"
    meanings = {field["name"]: field["meaning"] for field in model["fields"]}
    assert meanings["email"] == "email"
    assert meanings["first_name"] == "first_name"
    definition = {
        "conditions": {
            "conditions": [{"kind": "property", "field": "country", "operator": "equals", "value": "FR"}]
        }
    }
    preview = client.post("/api/v1/segments/preview", json={"model_id": model_id, "definition": definition})
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 3  # Ann (merged with her newsletter sign-up), Carl, Dana
    second = client.post(f"/api/v1/identity-graphs/{graph['id']}/runs", params={"force": True}).json()
    assert second["state"] == "succeeded"
    history = client.get(f"/api/v1/identity-graphs/{graph['id']}/runs").json()["items"]
    assert [item["id"] for item in history] == [second["id"], body["id"]]
    assert client.get(f"/api/v1/identity-graphs/{graph['id']}").json()["model_id"] == model_id
    _check_lookup(client, graph)


def _check_lookup(client: TestClient, graph: dict[str, Any]) -> None:
    """Profile lookup shows the merged records and why (rule and normalised value)."""
    url = f"/api/v1/identity-graphs/{graph['id']}/profiles"
    found = client.get(url, params={"identifier": "email", "value": " ANN.LEE+x@googlemail.com"})
    assert found.status_code == 200, found.text
    (profile,) = found.json()["profiles"]
    assert profile["golden"]["first_name"] == "Anne"
    records = {item["record_key"]: item["matched_by"] for item in profile["records"]}
    assert records == {
        "crm:1": [{"rule": "email", "value": "annlee@gmail.com"}],
        "news:10": [{"rule": "email", "value": "annlee@gmail.com"}],
    }
    by_record = client.get(url, params={"record_key": "news:10"}).json()["profiles"]
    assert by_record[0]["profile_id"] == profile["profile_id"]
    assert client.get(url).status_code == 422


def test_specs_are_checked_against_model_fields_and_viewers_cannot_run(
    client: TestClient, client_as: Any, graph: dict[str, Any]
) -> None:
    bad = {**SPEC, "inputs": [{**SPEC["inputs"][0], "attributes": {"city": "town"}}]}
    response = client.patch(f"/api/v1/identity-graphs/{graph['id']}", json={"spec": bad})
    assert response.status_code == 422
    assert "no field 'town'" in response.json()["detail"]
    unknown = {**SPEC, "rules": [{"name": "phone", "identifiers": ["phone"]}]}
    response = client.patch(f"/api/v1/identity-graphs/{graph['id']}", json={"spec": unknown})
    assert response.status_code == 422
    never_ran = client.get(f"/api/v1/identity-graphs/{graph['id']}/profiles", params={"profile_id": "x"})
    assert never_ran.status_code == 404
    viewer = client_as("viewer")
    assert viewer.get(f"/api/v1/identity-graphs/{graph['id']}").status_code == 200
    assert viewer.post(f"/api/v1/identity-graphs/{graph['id']}/runs").status_code == 403
    assert (
        client.delete(f"/api/v1/identity-graphs/{graph['id']}", params={"drop_tables": True}).status_code
        == 204
    )
    assert client.get(f"/api/v1/identity-graphs/{graph['id']}").status_code == 404


def test_background_runs_are_executed_by_the_job_runtime_and_lost_ones_fail(
    client: TestClient, graph: dict[str, Any], sqlite_database: Any, settings: Any
) -> None:
    from datetime import timedelta

    from sluice.identity.jobs import LOST_MESSAGE, claim, execute_queued, fail_lost_runs
    from sluice.store.base import utcnow

    url = f"/api/v1/identity-graphs/{graph['id']}/runs"
    queued = client.post(url, params={"background": True})
    assert queued.status_code == 201, queued.text
    assert queued.json()["state"] == "queued"
    assert client.post(url).status_code == 409  # one active run per graph
    assert execute_queued(sqlite_database, settings) == {queued.json()["id"]: "succeeded"}
    (done,) = client.get(url).json()["items"]
    assert (done["state"], done["profiles"], done["started_at"] is not None) == ("succeeded", 4, True)
    assert execute_queued(sqlite_database, settings) == {}  # nothing left to claim
    stuck = client.post(url, params={"background": True}).json()
    assert claim(sqlite_database, stuck["id"])
    assert not claim(sqlite_database, stuck["id"])  # claimed once only
    assert fail_lost_runs(sqlite_database, stale_after=timedelta(seconds=60)) == []
    assert fail_lost_runs(sqlite_database, stale_after=timedelta(0), now=utcnow() + timedelta(seconds=1)) == [
        stuck["id"]
    ]
    latest = client.get(url).json()["items"][0]
    assert (latest["state"], latest["error"]) == ("failed", LOST_MESSAGE)


def _profile_of(client: TestClient, graph: dict[str, Any], record_key: str) -> str:
    url = f"/api/v1/identity-graphs/{graph['id']}/profiles"
    (profile,) = client.get(url, params={"record_key": record_key}).json()["profiles"]
    return str(profile["profile_id"])


def test_runs_on_unchanged_inputs_are_skipped_and_changes_recompute(
    client: TestClient, graph: dict[str, Any], warehouse_path: Path
) -> None:
    url = f"/api/v1/identity-graphs/{graph['id']}/runs"
    first = client.post(url).json()
    assert first["state"] == "succeeded"
    assert first["fingerprint"]
    ann, bob = _profile_of(client, graph, "crm:1"), _profile_of(client, graph, "crm:2")

    skipped = client.post(url).json()
    assert skipped["state"] == "skipped", skipped
    assert skipped["fingerprint"] == first["fingerprint"]
    assert (skipped["input_rows"], skipped["profiles"], skipped["merges"]) == (6, 4, 2)
    assert skipped["details"]["skipped"].startswith("skipped: inputs unchanged")
    assert first["id"] in skipped["details"]["skipped"]
    assert skipped["warnings"] == first["warnings"]

    with duckdb.connect(str(warehouse_path)) as con:  # a new sign-up of Bob's
        con.execute("INSERT INTO news VALUES (12, ' bob@X.com', 'Rob', TIMESTAMP '2024-04-01 00:00:00')")
    added = client.post(url).json()
    assert added["state"] == "succeeded", added
    assert (added["input_rows"], added["profiles"], added["merges"]) == (7, 4, 3)
    assert (added["details"]["mode"], added["details"]["new_records"]) == ("incremental", 1)
    assert added["fingerprint"] != first["fingerprint"]
    assert _profile_of(client, graph, "news:12") == bob  # joins Bob's profile, whose id stays
    assert _profile_of(client, graph, "crm:1") == ann
    assert client.post(url).json()["state"] == "skipped"

    with duckdb.connect(str(warehouse_path)) as con:  # an update: same row count
        con.execute("UPDATE crm SET first_name = 'Annie' WHERE id = 1")
    updated = client.post(url).json()
    assert updated["state"] == "succeeded"
    assert updated["details"]["inputs"]["crm"]["rows"] == 4
    assert updated["details"]["mode"] == "full"  # an update: no shortcut

    assert client.post(url, params={"force": True}).json()["state"] == "succeeded"
    spec = {**SPEC, "warn_cluster_size": 3}
    assert client.patch(f"/api/v1/identity-graphs/{graph['id']}", json={"spec": spec}).status_code == 200
    assert client.post(url).json()["state"] == "succeeded"  # a new spec recomputes
    assert _profile_of(client, graph, "crm:1") == ann


def test_scheduled_runs_are_queued_once_per_due_time_and_failures_are_recorded(
    client: TestClient, graph: dict[str, Any], sqlite_database: Any, settings: Any, warehouse_path: Path
) -> None:
    from datetime import timedelta

    from sluice.identity.jobs import claim_due_graphs, execute_queued
    from sluice.store.base import utcnow

    url = f"/api/v1/identity-graphs/{graph['id']}"
    after = client.patch(url, json={"schedule": {"kind": "after", "activation_id": "x"}})
    assert after.status_code == 422
    bad = client.patch(url, json={"schedule": {"kind": "daily", "at": "25:00"}})
    assert bad.status_code == 422
    assert "HH:MM" in bad.json()["detail"]
    hourly = client.patch(url, json={"schedule": {"kind": "interval", "hours": 1}})
    assert hourly.status_code == 200, hourly.text
    assert hourly.json()["schedule"] == {"kind": "interval", "hours": 1}

    now = utcnow()
    with sqlite_database.session() as session:
        assert claim_due_graphs(session, now=now) == []  # first sight: the next due time is computed
    due = client.get(url).json()["next_run_at"]
    assert due is not None
    later = now + timedelta(hours=1, minutes=1)
    with sqlite_database.session() as session:
        (run_id,) = claim_due_graphs(session, now=later)
    with sqlite_database.session() as session:
        assert claim_due_graphs(session, now=later) == []  # that due time is taken
    assert execute_queued(sqlite_database, settings) == {run_id: "succeeded"}
    (run,) = client.get(f"{url}/runs").json()["items"]
    assert (run["trigger"], run["requested_by"], run["profiles"]) == ("schedule", "schedule", 4)

    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("DROP TABLE news")
    with sqlite_database.session() as session:
        (failing,) = claim_due_graphs(session, now=later + timedelta(hours=1))
    assert execute_queued(sqlite_database, settings) == {failing: "failed"}
    latest = client.get(f"{url}/runs").json()["items"][0]
    assert latest["state"] == "failed"
    assert "input model 'news' cannot be read (table main.news)" in latest["error"]

    assert client.patch(url, json={"schedule": {"kind": "manual"}}).json()["next_run_at"] is None
    with sqlite_database.session() as session:
        assert claim_due_graphs(session, now=later + timedelta(days=1)) == []
