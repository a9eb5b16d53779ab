"""Activations and runs over HTTP: CRUD, validation messages, one active run, run history, cancel."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import seed_demo_workspace
from sluice.segments.demo import VIP_FRANCE
from sluice.store.db import Database

BODY: dict[str, Any] = {
    "name": "VIP to Mailchimp",
    "service": "membership",
    "target": {"kind": "static_segment", "name": "VIP", "create_if_missing": True},
    "identifier": {"field": "email", "kind": "email"},
    "mapping": [{"source": "first_name", "destination": "FNAME"}],
}


@pytest.fixture(autouse=True)
def demo_objects(client: TestClient, sqlite_database: Database, tmp_path: Path) -> None:
    """The demo segments and destinations exist; BODY points at the VIP segment and Mailchimp."""
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=200, seed=1, path=warehouse, as_of=date(2026, 11, 23))
    demo = seed_demo_workspace(
        sqlite_database, warehouse=warehouse, emulators_url="http://127.0.0.1:9/emulators"
    )
    segments = {s["name"]: s["id"] for s in client.get("/api/v1/segments").json()["items"]}
    BODY["segment_id"] = segments[VIP_FRANCE]
    BODY["destination_id"] = demo.destinations["mailchimp"]


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/activations", json={**BODY, **overrides})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_read_update_delete(client: TestClient) -> None:
    created = create(client)
    assert created["settings"]["removal"] == "ignore"
    assert created["schedule"] == {"kind": "manual"}
    assert created["last_run"] is None
    fetched = client.get(f"/api/v1/activations/{created['id']}").json()
    assert fetched["mapping"] == [{"source": "first_name", "destination": "FNAME"}]
    patched = client.patch(
        f"/api/v1/activations/{created['id']}", json={"settings": {"removal": "delete"}, "enabled": False}
    ).json()
    assert (patched["settings"]["removal"], patched["enabled"]) == ("delete", False)
    assert client.delete(f"/api/v1/activations/{created['id']}").status_code == 204
    assert client.get(f"/api/v1/activations/{created['id']}").status_code == 404


def test_bad_input_is_explained(client: TestClient) -> None:
    twice = client.post(
        "/api/v1/activations",
        json={**BODY, "mapping": [{"source": "a", "destination": "X"}, {"source": "b", "destination": "X"}]},
    )
    assert twice.status_code == 422
    assert "mapped twice: X" in twice.text
    reserved = client.post(
        "/api/v1/activations", json={**BODY, "mapping": [{"source": "a", "destination": "__key"}]}
    )
    assert reserved.status_code == 422
    create(client)
    duplicate = client.post("/api/v1/activations", json=BODY)
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    assert "already exists" in duplicate.json()["detail"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"segment_id": "01NOSUCHSEGMENT00000000000"}, "segment '01NOSUCHSEGMENT00000000000' does not exist"),
        ({"service": "events"}, "Mailchimp does not offer the events service"),
        ({"target": {"kind": "tag", "name": "x", "create_if_missing": True}}, "no target kind 'tag'"),
        ({"target": {"kind": "static_segment", "name": "x"}}, "choose an existing target, or allow"),
        ({"identifier": {"field": "phone", "kind": "phone"}}, "does not match contacts by phone"),
        ({"identifier": {"field": "mail", "kind": "email"}}, "has no field 'mail'"),
        ({"identifier": {"field": "company_id", "kind": "email"}}, "can not hold a email identifier"),
        ({"mapping": [{"source": "nickname", "destination": "NICK"}]}, "no field 'nickname' to map"),
        ({"schedule": {"kind": "interval", "minutes": 0}}, "invalid schedule"),
    ],
)
def test_activation_that_can_not_run_is_refused_with_the_reason(
    client: TestClient, change: dict[str, Any], message: str
) -> None:
    response = client.post("/api/v1/activations", json={**BODY, **change})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_one_active_run_then_cancel_and_history(client: TestClient) -> None:
    activation = create(client)
    first = client.post(f"/api/v1/activations/{activation['id']}/runs", json={"dry_run": True})
    assert first.status_code == 202
    run = first.json()
    assert (run["state"], run["dry_run"], run["trigger"]) == ("queued", True, "api")
    second = client.post(f"/api/v1/activations/{activation['id']}/runs", json={})
    assert second.status_code == 409
    assert "already has a queued run" in second.json()["detail"]
    cancelled = client.post(f"/api/v1/runs/{run['id']}/cancel").json()
    assert cancelled["state"] == "cancelled"
    again = client.post(f"/api/v1/activations/{activation['id']}/runs", json={"full_refresh": True}).json()
    history = client.get(f"/api/v1/activations/{activation['id']}/runs").json()["items"]
    assert [r["id"] for r in history] == [again["id"], run["id"]]  # newest first
    assert client.get(f"/api/v1/activations/{activation['id']}").json()["last_run"]["id"] == again["id"]
    assert client.get("/api/v1/runs", params={"state": "cancelled"}).json()["items"][0]["id"] == run["id"]
    no_outcomes = client.get(f"/api/v1/runs/{run['id']}/outcomes.csv")
    assert no_outcomes.status_code == 404
    assert "no per-row outcomes" in no_outcomes.json()["detail"]


def test_new_activations_start_from_a_mapping_matched_by_meaning(client: TestClient) -> None:
    query = {"segment_id": BODY["segment_id"], "destination_id": BODY["destination_id"]}
    suggested = client.get("/api/v1/activations/suggested-mapping", params=query)
    assert suggested.status_code == 200, suggested.text
    body = suggested.json()
    assert body["identifier"] == {"field": "email", "kind": "email"}
    pairs = {(m["source"], m["destination"]) for m in body["mapping"]}
    assert {
        ("first_name", "FNAME"),
        ("last_name", "LNAME"),
        ("phone", "PHONE"),
        ("birth_date", "BIRTHDAY"),
    } <= pairs
    created = create(
        client, name="From the suggestion", identifier=body["identifier"], mapping=body["mapping"]
    )
    assert created["mapping"] == body["mapping"]
    types = client.get("/api/v1/destination-types").json()
    mailchimp = next(
        t for t in (types["items"] if isinstance(types, dict) else types) if t["name"] == "mailchimp"
    )
    assert {"name": "FNAME", "meaning": "first_name", "description": "First name"} in mailchimp[
        "standard_fields"
    ]
    elsewhere = client.get(
        "/api/v1/activations/suggested-mapping", params={**query, "segment_id": "01aaaaaaaaaaaaaaaaaaaaaaaa"}
    )
    assert elsewhere.status_code == 404
