""" "Connect with <vendor>": the whole authorization-code flow through the API, with a signed-in
browser (session + CSRF cookies), against an OAuth vendor emulator served on a loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from sluice.auth.accounts import add_member, create_user, find_workspace
from sluice.auth.permissions import Role
from sluice.destinations import registry
from sluice.destinations.oauth_flow import FLOW_COOKIE
from sluice.destinations.testing.oauth_vendor import AdsConnector, AdsVendor
from sluice.store.db import Database
from sluice.store.tables.destinations import Destination

PASSWORD = "correct horse battery"
CALLBACK = "http://testserver/api/v1/destinations/oauth/callback"


@pytest.fixture(scope="module")
def vendor() -> Iterator[tuple[AdsVendor, str]]:
    """The vendor's OAuth server and API on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = AdsVendor()
    server = uvicorn.Server(uvicorn.Config(running.app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield running, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def ads_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test vendor as a destination type (as a plug-in package would add one)."""
    monkeypatch.setitem(registry._discover(), AdsConnector.type_name, AdsConnector)


def browser(
    client: TestClient, database: Database, email: str, role: Role, workspace: str = "default"
) -> TestClient:
    """A signed-in browser: session and CSRF cookies, the CSRF header on unsafe requests."""
    with database.session() as session:
        user = create_user(session, email, password=PASSWORD)
        add_member(session, user, find_workspace(session, workspace).id, role)
    signed_in = TestClient(client.app)
    assert (
        signed_in.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    )
    signed_in.headers["X-CSRF-Token"] = signed_in.cookies["sluice_csrf"]
    return signed_in


def create_destination(browser_: TestClient, vendor: AdsVendor, base: str) -> dict[str, Any]:
    response = browser_.post(
        "/api/v1/destinations",
        json={
            "name": "Ads",
            "type": AdsConnector.type_name,
            "config": {"client_id": vendor.client_id, "base_url": base, "oauth_base_url": base},
            "secrets": {"client_secret": vendor.client_secret},
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret_names"] == ["client_secret"]  # not connected yet
    return body


def approve_at_vendor(authorize_url: str) -> httpx.URL:
    """What the browser does at the vendor: the emulator approves and redirects back."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return httpx.URL(answer.headers["location"])


def start(browser_: TestClient, destination_id: str) -> str:
    response = browser_.get(
        f"/api/v1/destinations/oauth/{AdsConnector.type_name}/authorize",
        params={"destination_id": destination_id},
    )
    assert response.status_code == 200, response.text
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(FLOW_COOKIE))
    assert "HttpOnly" in cookie
    assert "Path=/api/v1/destinations/oauth" in cookie
    return str(response.json()["authorize_url"])


def test_connect_with_vendor_stores_the_refresh_token_and_the_destination_works(
    client: TestClient, sqlite_database: Database, vendor: tuple[AdsVendor, str]
) -> None:
    ads, base = vendor
    alice = browser(client, sqlite_database, "alice@example.com", Role.ADMIN)
    types = {t["name"]: t for t in alice.get("/api/v1/destination-types").json()}
    assert types[AdsConnector.type_name]["oauth"] == {
        "vendor": "Ads Vendor",
        "grant": "refresh_token",
        "connect": True,
        "connect_field": "refresh_token",
    }
    destination = create_destination(alice, ads, base)
    check = alice.post(f"/api/v1/destinations/{destination['id']}/check").json()
    assert check["status"] == "config_error"
    assert "use 'Connect with Ads Vendor'" in check["message"]

    authorize_url = start(alice, destination["id"])
    sent = httpx.URL(authorize_url).params
    assert authorize_url.startswith(f"{base}/oauth2/authorize?")
    assert sent["client_id"] == ads.client_id
    assert sent["redirect_uri"] == CALLBACK
    assert sent["code_challenge_method"] == "S256"
    assert sent["scope"] == "ads.read ads.write"
    assert ads.client_secret not in authorize_url

    back = approve_at_vendor(authorize_url)
    assert str(back).startswith(CALLBACK)
    done = alice.get(back.raw_path.decode(), follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/destinations/{destination['id']}?oauth=connected"
    assert any(c.startswith(f'{FLOW_COOKIE}=""') for c in done.headers.get_list("set-cookie"))  # flow ends

    stored = alice.get(f"/api/v1/destinations/{destination['id']}").json()
    assert stored["secret_names"] == ["client_secret", "refresh_token"]
    with sqlite_database.session() as session:
        row = session.get(Destination, destination["id"])
        assert row is not None
        refresh_token = row.read_secrets(sqlite_database.secrets)["refresh_token"]
    assert refresh_token in ads.oauth.live_refresh_tokens()
    assert refresh_token not in json.dumps(stored)

    check = alice.post(f"/api/v1/destinations/{destination['id']}/check").json()
    assert check == {**check, "ok": True, "message": "connected as acme"}

    audit = alice.get("/api/v1/audit-logs", params={"target_type": "destination"}).json()["items"]
    actions = [entry["action"] for entry in audit]
    assert "destination.oauth_started" in actions
    assert "destination.oauth_connected" in actions
    assert refresh_token not in json.dumps(audit)

    ads.oauth.revoke(refresh_token)  # the user removed the app at the vendor
    check = alice.post(f"/api/v1/destinations/{destination['id']}/check").json()
    assert check["status"] == "config_error"
    assert "Reconnect the destination with 'Connect with Ads Vendor'" in check["message"]

    # reconnecting replaces the revoked token
    done = alice.get(
        approve_at_vendor(start(alice, destination["id"])).raw_path.decode(), follow_redirects=False
    )
    assert done.headers["location"].endswith("?oauth=connected")
    assert alice.post(f"/api/v1/destinations/{destination['id']}/check").json()["ok"] is True


def test_callback_refuses_a_code_from_another_flow_user_or_session(
    client: TestClient, sqlite_database: Database, vendor: tuple[AdsVendor, str]
) -> None:
    ads, base = vendor
    alice = browser(client, sqlite_database, "alice2@example.com", Role.ADMIN)
    mallory = browser(client, sqlite_database, "mallory@example.com", Role.ADMIN)
    destination = create_destination(alice, ads, base)

    back = approve_at_vendor(start(alice, destination["id"]))
    # another browser (no flow cookie): an attacker sending the victim a link with their own code
    refused = mallory.get(back.raw_path.decode(), follow_redirects=False)
    assert refused.status_code == 401
    assert "not started in this browser" in refused.json()["detail"]
    # the flow cookie, but a forged state
    forged = alice.get(
        "/api/v1/destinations/oauth/callback",
        params={"code": back.params["code"], "state": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 401
    assert "state mismatch" in forged.json()["detail"]
    # someone else's session carrying this flow cookie
    mallory.cookies.set(FLOW_COOKIE, alice.cookies[FLOW_COOKIE], path="/api/v1/destinations/oauth")
    stolen = mallory.get(back.raw_path.decode(), follow_redirects=False)
    assert stolen.status_code == 401
    assert "another user or browser session" in stolen.json()["detail"]
    assert (
        "refresh_token" not in alice.get(f"/api/v1/destinations/{destination['id']}").json()["secret_names"]
    )


def test_user_denial_and_failed_exchange_come_back_as_messages(
    client: TestClient, sqlite_database: Database, vendor: tuple[AdsVendor, str]
) -> None:
    ads, base = vendor
    alice = browser(client, sqlite_database, "alice3@example.com", Role.ADMIN)
    destination = create_destination(alice, ads, base)
    back = approve_at_vendor(start(alice, destination["id"]))
    denied = alice.get(
        "/api/v1/destinations/oauth/callback",
        params={
            "state": back.params["state"],
            "error": "access_denied",
            "error_description": "The user said no",
        },
        follow_redirects=False,
    )
    assert denied.status_code == 303
    location = httpx.URL(denied.headers["location"])
    assert location.path == f"/destinations/{destination['id']}"
    assert location.params["oauth_error"] == "the platform did not grant access: The user said no"

    back = approve_at_vendor(start(alice, destination["id"]))
    ads.oauth.codes.clear()  # the code expired at the vendor before the browser came back
    failed = alice.get(back.raw_path.decode(), follow_redirects=False)
    message = httpx.URL(failed.headers["location"]).params["oauth_error"]
    assert message.startswith("Ads Vendor refused the authorization code (invalid_grant:")
    assert message.endswith("connect again.")
    assert ads.client_secret not in message


def test_only_signed_in_writers_start_a_connection(
    client: TestClient, sqlite_database: Database, vendor: tuple[AdsVendor, str]
) -> None:
    ads, base = vendor
    destination = create_destination(client, ads, base)  # the owner's API token
    path = f"/api/v1/destinations/oauth/{AdsConnector.type_name}/authorize"
    by_token = client.get(path, params={"destination_id": destination["id"]})
    assert by_token.status_code == 422
    assert "from the web app while signed in" in by_token.json()["detail"]
    editor = browser(client, sqlite_database, "editor@example.com", Role.EDITOR)
    refused = editor.get(path, params={"destination_id": destination["id"]})
    assert refused.status_code == 403
    admin = browser(client, sqlite_database, "admin@example.com", Role.ADMIN)
    wrong_type = admin.get(
        "/api/v1/destinations/oauth/mailchimp/authorize", params={"destination_id": destination["id"]}
    )
    assert wrong_type.status_code == 422
