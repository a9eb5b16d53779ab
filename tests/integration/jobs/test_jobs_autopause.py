"""Acceptance: a destination refusing the credentials (401) pauses the activation at once, with
alerts to the local webhook and SMTP receivers; probes keep failing until the credentials are
fixed, then the activation resumes by itself, a run converges, and the resume is alerted too.

Real parts: the Mailchimp emulator over HTTP, the Mailchimp connector, the job runtime with its
SQLite queue, scheduler thread and worker threads. The executor is
:func:`sluice.jobs.testing.connection_executor` (the destination-facing part of a sync).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient
from jobs_alert_receivers import HttpReceiver, SmtpReceiver
from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.destinations.mailchimp.emulator import MailchimpEmulator
from sluice.jobs.runtime import JobRuntime
from sluice.jobs.testing import connection_executor
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def mailchimp() -> Iterator[tuple[MailchimpEmulator, str]]:
    emulator = MailchimpEmulator()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(emulator.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the emulator to start", 20)
    yield emulator, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_bad_credentials_pause_at_once_and_fixed_credentials_resume(
    client: TestClient,
    sqlite_database: Database,
    settings: Settings,
    mailchimp: tuple[MailchimpEmulator, str],
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
) -> None:
    emulator, base_url = mailchimp
    database = sqlite_database
    with database.session() as session:
        workspace = ensure_default_workspace(session)
        bad = emulator.connector_config(base_url, valid=False)
        destination = Destination(
            workspace_id=workspace.id,
            name="Mailchimp",
            type="mailchimp",
            config={k: v for k, v in bad.items() if k != "api_key"},
        )
        destination.write_secrets(database.secrets, {"api_key": bad["api_key"]})
        session.add(destination)
        session.flush()
        activation = Activation(
            workspace_id=workspace.id,
            name="VIP to Mailchimp",
            segment_id="seg",
            destination_id=destination.id,
            service="membership",
            target={"kind": "static_segment", "name": "VIP"},
            identifier={"field": "email", "kind": "email"},
            schedule={"kind": "interval", "hours": 24},
        )
        session.add(activation)
        session.flush()
        activation_id, destination_id = activation.id, destination.id
    assert client.post(
        "/api/v1/alert-channels", json={"name": "hook", "kind": "webhook", "url": http_receiver.url}
    )
    assert client.post(
        "/api/v1/alert-channels", json={"name": "mail", "kind": "email", "recipients": ["ops@acme.test"]}
    )

    run_settings = settings.model_copy(
        update={
            "scheduler_tick_seconds": 0.2,
            "probe_backoff_seconds": 0.5,
            "probe_backoff_max_seconds": 1.0,
            "smtp_host": smtp_receiver.host,
            "smtp_port": smtp_receiver.port,
        }
    )
    runtime = JobRuntime(database, run_settings, executor=connection_executor, worker_name="test-worker")
    runtime.start()
    try:
        started = client.post(f"/api/v1/activations/{activation_id}/runs", json={})
        assert started.status_code == 202
        first_run = started.json()["id"]

        def state() -> dict[str, object]:
            return client.get(f"/api/v1/activations/{activation_id}/schedule").json()  # type: ignore[no-any-return]

        wait_for(lambda: state()["paused"] is True, "the automatic pause")
        paused = state()
        assert paused["automatic_pause"] is True
        assert str(paused["paused_reason"]).startswith(
            "paused after a fatal error: Mailchimp refused the API key"
        )
        run = client.get(f"/api/v1/runs/{first_run}").json()
        assert run["state"] == "failed"
        assert run["error_kind"] == "config"

        # probes keep failing while the key is wrong
        wait_for(lambda: int(state()["probe_attempts"]) >= 2, "two failed probes")  # type: ignore[call-overload]
        assert state()["paused"] is True
        assert str(state()["last_probe_message"]).startswith("Mailchimp refused the API key")

        # the user fixes the key: the next probe resumes and a run converges
        with database.session() as session:
            stored = session.get(Destination, destination_id)
            assert stored is not None
            stored.write_secrets(database.secrets, {"api_key": emulator.api_key})
        wait_for(lambda: state()["paused"] is False, "the automatic resume")

        def probe_run_state() -> str | None:
            with database.session() as session:
                found = session.scalars(
                    select(Run).where(Run.activation_id == activation_id, Run.trigger == "probe")
                ).first()
                return found.state if found else None

        wait_for(lambda: probe_run_state() == "succeeded", "the run queued by the resume to succeed")
        wait_for(lambda: len(smtp_receiver.messages) >= 3, "three e-mails")
        wait_for(lambda: len(http_receiver.received) >= 3, "three webhook calls")
    finally:
        runtime.stop()

    history = client.get(f"/api/v1/activations/{activation_id}/pauses").json()["items"]
    assert [(e["action"], e["automatic"]) for e in history] == [("resume", True), ("pause", True)]
    assert history[0]["reason"].startswith("resumed automatically:")
    assert history[1]["run_id"] == first_run

    hooks = [body["event"] for _, body in http_receiver.received]
    assert hooks == ["failure", "pause", "resume"]
    subjects = [m["Subject"] for m in smtp_receiver.messages]
    assert subjects == [
        "[Sluice] Sync failed: VIP to Mailchimp",
        "[Sluice] Activation paused: VIP to Mailchimp",
        "[Sluice] Activation resumed: VIP to Mailchimp",
    ]
    assert "Mailchimp refused the API key" in smtp_receiver.messages[1].get_payload()
    assert client.get(f"/api/v1/activations/{activation_id}").json()["consecutive_failures"] == 0
