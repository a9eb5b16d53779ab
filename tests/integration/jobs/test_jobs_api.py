"""Pause/resume and schedule state of an activation, and alert channels, through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from jobs_alert_receivers import HttpReceiver, SmtpReceiver

from sluice.jobs.runtime import JobRuntime
from sluice.jobs.testing import recording_executor
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.activations import Activation


def make_activation(database: Database, schedule: dict[str, Any] | None = None) -> str:
    with database.session() as session:
        workspace = ensure_default_workspace(session)
        activation = Activation(
            workspace_id=workspace.id,
            name="vip to mailchimp",
            segment_id="seg",
            destination_id="dst",
            service="membership",
            target={"kind": "static_segment", "name": "VIP"},
            identifier={"field": "email", "kind": "email"},
            schedule=schedule or {"kind": "interval", "minutes": 30},
        )
        session.add(activation)
        session.flush()
        return activation.id


def test_pause_and_resume_by_hand_with_history_and_alerts(
    client: TestClient, sqlite_database: Database, http_receiver: HttpReceiver
) -> None:
    activation_id = make_activation(sqlite_database)
    channel = client.post(
        "/api/v1/alert-channels",
        json={"name": "ops hook", "kind": "webhook", "url": f"{http_receiver.url}/hook"},
    )
    assert channel.status_code == 201, channel.text

    state = client.get(f"/api/v1/activations/{activation_id}/schedule").json()
    assert state["paused"] is False
    assert len(state["upcoming"]) == 3

    paused = client.post(f"/api/v1/activations/{activation_id}/pause", json={"reason": "holiday freeze"})
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True
    assert paused.json()["automatic_pause"] is False
    assert paused.json()["paused_reason"].endswith(": holiday freeze")
    again = client.post(f"/api/v1/activations/{activation_id}/pause", json={})
    assert again.status_code == 409
    assert "already paused" in again.json()["detail"]

    resumed = client.post(f"/api/v1/activations/{activation_id}/resume", json={})
    assert resumed.status_code == 200
    assert resumed.json()["paused"] is False
    assert client.post(f"/api/v1/activations/{activation_id}/resume", json={}).status_code == 409

    history = client.get(f"/api/v1/activations/{activation_id}/pauses").json()["items"]
    assert [(e["action"], e["automatic"]) for e in history] == [("resume", False), ("pause", False)]
    assert client.get(f"/api/v1/activations/{activation_id}").json()["paused_reason"] is None

    JobRuntime(sqlite_database, client.app.state.settings, executor=recording_executor).tick()  # type: ignore[attr-defined]
    assert len(http_receiver.received) == 2
    events = [body["event"] for _, body in http_receiver.received]
    assert events == ["pause", "resume"]
    path, body = http_receiver.received[0]
    assert path == "/hook"
    assert body["activation"] == {"id": activation_id, "name": "vip to mailchimp"}
    assert body["message"].endswith(": holiday freeze")


def test_viewer_can_read_but_not_pause(
    client: TestClient, sqlite_database: Database, client_as: Callable[..., TestClient]
) -> None:
    activation_id = make_activation(sqlite_database)
    viewer = client_as("viewer")
    assert viewer.get(f"/api/v1/activations/{activation_id}/schedule").status_code == 200
    assert viewer.post(f"/api/v1/activations/{activation_id}/pause", json={}).status_code == 403
    operator = client_as("operator")
    assert operator.post(f"/api/v1/activations/{activation_id}/pause", json={}).status_code == 200


def test_alert_channel_urls_are_write_only(client: TestClient, http_receiver: HttpReceiver) -> None:
    created = client.post(
        "/api/v1/alert-channels",
        json={"name": "slack", "kind": "slack", "url": f"{http_receiver.url}/services/T0/B0/secret-token"},
    )
    assert created.status_code == 201
    assert "secret-token" not in created.text
    assert created.json()["url_set"] is True
    listed = client.get("/api/v1/alert-channels")
    assert "secret-token" not in listed.text
    assert [c["name"] for c in listed.json()["items"]] == ["slack"]

    tested = client.post(f"/api/v1/alert-channels/{created.json()['id']}/test")
    assert tested.json() == {"delivered": True, "error": None}
    _, body = http_receiver.received[0]
    assert body["text"].startswith("Sync finished with warnings: test alert")
    assert body["blocks"][0]["type"] == "header"

    http_receiver.status = 500
    tested = client.post(f"/api/v1/alert-channels/{created.json()['id']}/test")
    assert tested.json() == {"delivered": False, "error": "the slack URL answered HTTP 500"}


def test_alert_channel_validation(client: TestClient) -> None:
    no_url = client.post("/api/v1/alert-channels", json={"name": "x", "kind": "webhook"})
    assert no_url.status_code == 422
    assert "a webhook channel needs a URL" in no_url.text
    bad_mail = client.post(
        "/api/v1/alert-channels", json={"name": "m", "kind": "email", "recipients": ["ops at example"]}
    )
    assert bad_mail.status_code == 422
    assert "not e-mail addresses: ops at example" in bad_mail.text
    first = client.post(
        "/api/v1/alert-channels", json={"name": "m", "kind": "email", "recipients": ["ops@example.com"]}
    )
    assert first.status_code == 201
    twice = client.post(
        "/api/v1/alert-channels", json={"name": "m", "kind": "email", "recipients": ["ops@example.com"]}
    )
    assert twice.status_code == 409
    patched = client.patch(f"/api/v1/alert-channels/{first.json()['id']}", json={"events": ["pause"]})
    assert patched.json()["events"] == ["pause"]
    assert client.delete(f"/api/v1/alert-channels/{first.json()['id']}").status_code == 204


def test_email_channel_test_goes_through_smtp(client: TestClient, smtp_receiver: SmtpReceiver) -> None:
    app_settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = app_settings.model_copy(  # type: ignore[attr-defined]
        update={
            "smtp_host": smtp_receiver.host,
            "smtp_port": smtp_receiver.port,
            "smtp_sender": "sluice@acme.test",
        }
    )
    created = client.post(
        "/api/v1/alert-channels",
        json={"name": "ops mail", "kind": "email", "recipients": ["ops@acme.test", "cto@acme.test"]},
    )
    tested = client.post(f"/api/v1/alert-channels/{created.json()['id']}/test")
    assert tested.json() == {"delivered": True, "error": None}
    message = smtp_receiver.messages[0]
    assert message["Subject"] == "[Sluice] Sync finished with warnings: test alert"
    assert message["From"] == "sluice@acme.test"
    assert message["X-Envelope-To"] == "ops@acme.test, cto@acme.test"
    assert "This is a test alert from Sluice" in message.get_payload()


def test_email_without_smtp_server_says_what_to_set(client: TestClient) -> None:
    created = client.post(
        "/api/v1/alert-channels", json={"name": "ops mail", "kind": "email", "recipients": ["ops@acme.test"]}
    )
    tested = client.post(f"/api/v1/alert-channels/{created.json()['id']}/test")
    assert tested.json()["error"] == "e-mail alerts need an SMTP server: set SLUICE_SMTP_HOST"
