"""Destinations API: types, CRUD with write-only secrets, connection test and target pickers
against the emulators served over real HTTP on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from sluice.destinations.emulation import Emulator
from sluice.destinations.emulators import build_emulators, emulators_app, seed_most


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[str, dict[str, Emulator]]]:
    """Every emulator on a free loopback port, as ``sluice destination emulate all`` serves them."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = build_emulators()
    seed_most(running.values(), [f"user{i}@example.com" for i in range(50)])
    base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(emulators_app(running, base), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield base, running
    server.should_exit = True
    thread.join(timeout=5)


def config_of(base: str, name: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/emulators").json()[name]["config"])


def create(client: TestClient, name: str, type_name: str, config: dict[str, Any], secret: str) -> Any:
    secrets = {secret: config.pop(secret)}
    response = client.post(
        "/api/v1/destinations", json={"name": name, "type": type_name, "config": config, "secrets": secrets}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_destination_types_describe_forms_capabilities_and_defaults(client: TestClient) -> None:
    types = {t["name"]: t for t in client.get("/api/v1/destination-types").json()}
    assert set(types) >= {"mailchimp", "intercom", "voyado"}
    mailchimp = types["mailchimp"]
    assert mailchimp["secret_fields"] == ["api_key"]
    assert mailchimp["json_schema"]["properties"]["api_key"]["writeOnly"] is True
    assert mailchimp["capabilities"]["batch_size"] == 500
    assert mailchimp["activation_defaults"]["target_kind"] == "static_segment"
    voyado = types["voyado"]
    assert voyado["capabilities"]["can_read_members"] is False
    assert "Swagger" in voyado["json_schema"]["properties"]["label_api"]["description"]
    assert voyado["activation_defaults"]["identifier"] == "platform_id"


def test_secrets_are_write_only_and_check_reaches_the_vendor(
    client: TestClient, emulators: tuple[str, dict[str, Emulator]]
) -> None:
    base, _ = emulators
    config = config_of(base, "mailchimp")
    key = config["api_key"]
    created = create(client, "Newsletter", "mailchimp", config, "api_key")
    assert created["secret_names"] == ["api_key"]
    assert key not in str(created)
    assert created["activation_defaults"]["service"] == "membership"
    listed = client.get("/api/v1/destinations").json()
    assert key not in str(listed)
    check = client.post(f"/api/v1/destinations/{created['id']}/check").json()
    assert check["ok"] is True
    assert "Sluice demo audience" in check["message"]
    assert client.get(f"/api/v1/destinations/{created['id']}").json()["last_test_status"] == "ok"

    client.patch(f"/api/v1/destinations/{created['id']}", json={"secrets": {"api_key": "wrong0000-us1"}})
    check = client.post(f"/api/v1/destinations/{created['id']}/check").json()
    assert check == {**check, "ok": False, "status": "config_error"}
    assert "API key" in check["message"]


def test_a_secret_sent_as_a_setting_is_stored_encrypted_and_bad_config_is_explained(
    client: TestClient, emulators: tuple[str, dict[str, Emulator]]
) -> None:
    base, _ = emulators
    config = config_of(base, "intercom")
    created = client.post(
        "/api/v1/destinations", json={"name": "Support", "type": "intercom", "config": config}
    ).json()
    assert created["secret_names"] == ["access_token"]
    assert "access_token" not in created["config"]
    bad = client.post(
        "/api/v1/destinations", json={"name": "X", "type": "intercom", "config": {"region": "mars"}}
    )
    assert bad.status_code == 422
    assert "region" in bad.json()["detail"]
    unknown = client.post("/api/v1/destinations", json={"name": "Y", "type": "carrier-pigeon"})
    assert unknown.status_code == 404
    assert "mailchimp" in unknown.json()["detail"]
    duplicate = client.post(
        "/api/v1/destinations", json={"name": "Support", "type": "intercom", "config": config}
    )
    assert duplicate.status_code in (409, 422)


def test_targets_are_listed_page_by_page_for_pickers(
    client: TestClient, emulators: tuple[str, dict[str, Emulator]]
) -> None:
    base, running = emulators
    from sluice.destinations.sdk import TargetSpec

    running["mailchimp"].seed_targets([f"Picker {n}" for n in range(130)], TargetSpec("static_segment"))
    created = create(client, "Picker", "mailchimp", config_of(base, "mailchimp"), "api_key")
    names: list[str] = []
    cursor = None
    while True:
        params = {"kind": "static_segment", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/v1/destinations/{created['id']}/targets", params=params).json()
        names += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert {f"Picker {n}" for n in range(130)} <= set(names)
    consent = create(client, "Voyado", "voyado", config_of(base, "voyado"), "api_key")
    page = client.get(f"/api/v1/destinations/{consent['id']}/targets", params={"kind": "consent"}).json()
    assert [t["id"] for t in page["items"]] == ["acceptsEmail", "acceptsSms"]


def test_default_activation_settings_are_validated_and_editable(
    client: TestClient, emulators: tuple[str, dict[str, Emulator]]
) -> None:
    base, _ = emulators
    created = create(client, "Tags", "intercom", config_of(base, "intercom"), "access_token")
    changed = client.patch(
        f"/api/v1/destinations/{created['id']}",
        json={"activation_defaults": {"identifier": "external_id", "schedule": {"kind": "manual"}}},
    )
    assert changed.status_code == 200
    assert changed.json()["activation_defaults"]["identifier"] == "external_id"
    assert changed.json()["activation_defaults"]["target_kind"] == "tag"
    wrong = client.patch(
        f"/api/v1/destinations/{created['id']}", json={"activation_defaults": {"colour": "red"}}
    )
    assert wrong.status_code == 422
    assert client.delete(f"/api/v1/destinations/{created['id']}").status_code == 204
    assert client.get(f"/api/v1/destinations/{created['id']}").status_code == 404
