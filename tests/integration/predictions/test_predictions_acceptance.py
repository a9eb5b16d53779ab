"""AI predictions end to end on the demo warehouse, through the REST API.

Churn, LTV and recommendations predictors train on the demo data (planted churn and spend signal),
beat their naive baselines on a time-based holdout, publish their scores as fields of the users
model, and the segment "churn_score > 0.7 and ltv_decile >= 8" previews and activates to the
Mailchimp emulator like any other segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.mailchimp.emulator import LIST_ID, MailchimpEmulator
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.sync.runner import execute_run
from sluice.sync.runs import RunRequest, request_run

COMPLETED = "status = 'completed'"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("predictions") / "demo.duckdb"
    build_demo_warehouse(users=2000, seed=42, path=path, as_of=date.today())
    return path


@pytest.fixture
def demo(
    client: TestClient, settings: Settings, sqlite_database: Database, demo_file: Path
) -> Iterator[tuple[DemoWorkspace, BackgroundEmulators, Path]]:
    warehouse = demo_file
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        yield workspace, emulators, warehouse


def _users_model_id(client: TestClient) -> str:
    models = client.get("/api/v1/models", params={"limit": 100}).json()["items"]
    return next(m["id"] for m in models if m["name"] == "users")


def _train(client: TestClient, name: str, kind: str, **config: Any) -> dict[str, Any]:
    body = {"name": name, "kind": kind, "model_id": _users_model_id(client), "config": config}
    created = client.post("/api/v1/predictors", json=body)
    assert created.status_code == 201, created.text
    predictor_id = created.json()["id"]
    started = client.post(f"/api/v1/predictors/{predictor_id}/versions")
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "queued"
    # The test client runs the background task before returning: the run is finished here.
    versions = client.get(f"/api/v1/predictors/{predictor_id}/versions").json()["items"]
    version = versions[0]
    assert version["state"] == "succeeded", version["message"]
    assert version["active"]
    predictor = client.get(f"/api/v1/predictors/{predictor_id}").json()
    assert predictor["active_version"]["id"] == version["id"]
    return dict(version)


def test_predictions_beat_baselines_and_drive_a_segment_and_an_activation(
    client: TestClient,
    settings: Settings,
    sqlite_database: Database,
    demo: tuple[DemoWorkspace, BackgroundEmulators, Path],
) -> None:
    workspace, emulators, warehouse = demo
    churn = _train(client, "Churn 90d", "churn", purchase_filter=COMPLETED)
    metrics = churn["metrics"]
    assert metrics["auc"] > metrics["baseline_auc"] + 0.05, metrics
    assert len(metrics["lift"]) == 10
    assert metrics["lift"][-1]["lift"] > 1.0  # the top decile churns more than average
    assert churn["feature_importance"][0]["importance"] > 0
    assert {item["feature"] for item in churn["feature_importance"]} >= {
        "days_since_last_purchase",
        "tenure_days",
    }

    ltv = _train(client, "LTV 90d", "ltv", purchase_filter=COMPLETED)
    assert ltv["metrics"]["mae"] < ltv["metrics"]["baseline_mae"], ltv["metrics"]
    assert len(ltv["metrics"]["calibration"]) == 10

    recs = _train(client, "Recommendations", "recommendations", purchase_filter=COMPLETED)
    assert recs["metrics"]["precision_at_k"] > recs["metrics"]["baseline_precision_at_k"], recs["metrics"]

    # The scores are fields of the users model, with their types.
    users = client.get(f"/api/v1/models/{_users_model_id(client)}").json()
    types = {field["name"]: field["type"] for field in users["fields"]}
    assert types["churn_score"] == "float"
    assert types["ltv_90d"] == "float"
    assert types["ltv_decile"] == "integer"
    assert types["recommended_products"] == "string"

    # Already-bought products are never recommended.
    preview = client.post(
        "/api/v1/segments/preview",
        json={
            "model_id": _users_model_id(client),
            "definition": {"conditions": {"conditions": []}},
            "columns": ["user_id", "recommended_products"],
            "limit": 50,
        },
    )
    assert preview.status_code == 200, preview.text
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for row in preview.json()["rows"]:
            bought = {
                str(product)
                for (product,) in con.execute(
                    "SELECT DISTINCT i.product_id FROM orders o JOIN order_items i USING (order_id) "
                    "WHERE o.user_id = ? AND o.status = 'completed'",
                    [row["user_id"]],
                ).fetchall()
            }
            recommended = set((row["recommended_products"] or "").split(","))
            assert len(recommended) == 10
            assert not (recommended & bought), row

    definition = {
        "conditions": {
            "conditions": [
                {"kind": "property", "field": "churn_score", "operator": "gt", "value": 0.7},
                {"kind": "property", "field": "ltv_decile", "operator": "gte", "value": 8},
            ]
        }
    }
    created = client.post(
        "/api/v1/segments",
        json={"name": "Valuable but leaving", "model_id": _users_model_id(client), "definition": definition},
    )
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]
    shown = client.get(
        f"/api/v1/segments/{segment_id}/preview",
        params={"columns": ["user_id", "email", "churn_score", "ltv_decile", "ltv_90d"], "limit": 20},
    )
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert 0 < body["count"] < body["model_count"]
    assert all(row["churn_score"] > 0.7 and row["ltv_decile"] >= 8 for row in body["rows"])

    activation = client.post(
        "/api/v1/activations",
        json={
            "name": "Win back valuable users",
            "segment_id": segment_id,
            "destination_id": workspace.destinations["mailchimp"],
            "service": "membership",
            "target": {"kind": "static_segment", "name": "Win back", "create_if_missing": True},
            "identifier": {"field": "email", "kind": "email"},
            "mapping": [{"source": "first_name", "destination": "FNAME"}],
        },
    )
    assert activation.status_code == 201, activation.text
    with sqlite_database.session() as session:
        row = session.get(Activation, activation.json()["id"])
        assert row is not None
        run_id = request_run(session, row, RunRequest()).id
    execute_run(sqlite_database, settings, run_id, worker="test")
    with sqlite_database.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert run.state in ("succeeded", "partial"), run.error
        assert run.counts["audience"] == body["count"]
        assert run.counts["delivered"] > 0

    # Prediction fields map to destination fields like any other field.
    upsert = client.post(
        "/api/v1/activations",
        json={
            "name": "Scores to Mailchimp",
            "segment_id": segment_id,
            "destination_id": workspace.destinations["mailchimp"],
            "service": "upsert",
            "target": {"kind": "audience", "id": LIST_ID},
            "identifier": {"field": "email", "kind": "email"},
            "mapping": [
                {"source": "ltv_90d", "destination": "LTV90"},
                {"source": "churn_score", "destination": "CHURN"},
                {"source": "recommended_products", "destination": "RECS"},
            ],
        },
    )
    assert upsert.status_code == 201, upsert.text
    with sqlite_database.session() as session:
        row = session.get(Activation, upsert.json()["id"])
        assert row is not None
        run_id = request_run(session, row, RunRequest()).id
    execute_run(sqlite_database, settings, run_id, worker="test")
    mailchimp = emulators.emulators["mailchimp"]
    assert isinstance(mailchimp, MailchimpEmulator)
    stored = next(iter(mailchimp.audiences.values())).merge_fields
    sent = [fields for fields in stored.values() if "CHURN" in fields]
    assert sent, "no contact received the prediction fields"
    assert all(float(fields["CHURN"]) > 0.7 for fields in sent)
    assert all(len(str(fields["RECS"]).split(",")) == 10 for fields in sent)


def test_a_second_run_repoints_the_fields_and_keeps_the_history(
    client: TestClient, demo: tuple[DemoWorkspace, BackgroundEmulators, Path]
) -> None:
    first = _train(client, "Recommendations", "recommendations", top_n=3)
    predictor_id = client.get("/api/v1/predictors").json()["items"][0]["id"]
    second = client.post(f"/api/v1/predictors/{predictor_id}/versions").json()
    versions = client.get(f"/api/v1/predictors/{predictor_id}/versions").json()["items"]
    assert [v["number"] for v in versions] == [2, 1]
    assert [v["active"] for v in versions] == [True, False]
    assert versions[0]["id"] == second["id"]
    assert versions[1]["metrics"] == first["metrics"]  # history keeps its metrics
    users = client.get(f"/api/v1/models/{_users_model_id(client)}").json()
    calc = next(f["calculation"] for f in users["fields"] if f["name"] == "recommended_products")
    assert calc["version_id"] == second["id"]
    # Starting a run is in the audit trail, as the user who started it.
    started = client.get("/api/v1/audit-logs", params={"action": "prediction.run_started"}).json()["items"]
    assert len(started) == 2
    assert {entry["actor_type"] for entry in started} != {"system"}
    # Renaming the field moves it at the next run.
    renamed_field = client.patch(
        f"/api/v1/predictors/{predictor_id}", json={"config": {"top_n": 3, "field_name": "next_buys"}}
    )
    assert renamed_field.status_code == 200, renamed_field.text
    assert renamed_field.json()["fields"] == ["next_buys"]
    assert client.post(f"/api/v1/predictors/{predictor_id}/versions").status_code == 202
    users = client.get(f"/api/v1/models/{_users_model_id(client)}").json()
    names = {f["name"] for f in users["fields"]}
    assert "next_buys" in names
    assert "recommended_products" not in names
    # Two predictors may not write the same fields.
    body = {"name": "Churn", "kind": "churn", "model_id": _users_model_id(client)}
    assert client.post("/api/v1/predictors", json=body).status_code == 201
    clash = client.post("/api/v1/predictors", json={**body, "name": "Other churn"})
    assert clash.status_code == 409
    assert "already writes field 'churn_" in clash.json()["detail"]
    renamed = client.post(
        "/api/v1/predictors", json={**body, "name": "Other churn", "config": {"field_name": "email"}}
    )
    assert renamed.status_code == 409
    assert "already has a field 'email'" in renamed.json()["detail"]
    # Deleting the predictor removes its fields.
    assert client.delete(f"/api/v1/predictors/{predictor_id}").status_code == 204
    users = client.get(f"/api/v1/models/{_users_model_id(client)}").json()
    assert "next_buys" not in {f["name"] for f in users["fields"]}
