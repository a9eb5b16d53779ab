"""API tokens: shown once, hashed at rest, scoped to a workspace and a role, revocable, last-used time."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluice.store.db import Database
from sluice.store.tables.audit import AuditLog
from sluice.store.tables.auth import ApiToken


def bearer(client: TestClient, token: str) -> TestClient:
    return TestClient(client.app, headers={"Authorization": f"Bearer {token}"})


def test_service_token_is_shown_once_and_hashed_at_rest(
    client: TestClient, sqlite_database: Database
) -> None:
    created = client.post("/api/v1/service-tokens", json={"name": "ci", "role": "operator"})
    assert created.status_code == 201, created.text
    plain = created.json()["token"]
    assert plain.startswith("slu_svc_")
    assert created.json()["token_prefix"] == plain[:12]
    listed = client.get("/api/v1/service-tokens").json()["items"]
    assert any(item["name"] == "ci" for item in listed)
    assert plain not in client.get("/api/v1/service-tokens").text
    with sqlite_database.session() as session:
        hashes = session.scalars(select(ApiToken.token_hash)).all()
    assert plain not in hashes
    operator = bearer(client, plain)
    me = operator.get("/api/v1/auth/me").json()
    assert me["role"] == "operator"
    assert me["user"] is None
    assert me["authenticated_by"] == "token"


def test_last_used_time_is_recorded(client: TestClient) -> None:
    created = client.post("/api/v1/service-tokens", json={"name": "probe", "role": "viewer"}).json()
    assert created["last_used_at"] is None
    assert bearer(client, created["token"]).get("/api/v1/sources").status_code == 200
    tokens = {t["id"]: t for t in client.get("/api/v1/service-tokens").json()["items"]}
    assert tokens[created["id"]]["last_used_at"] is not None


def test_revoked_token_stops_working_at_once(client: TestClient) -> None:
    created = client.post("/api/v1/service-tokens", json={"name": "temp"}).json()
    automation = bearer(client, created["token"])
    assert automation.get("/api/v1/sources").status_code == 200
    assert client.delete(f"/api/v1/service-tokens/{created['id']}").status_code == 204
    refused = automation.get("/api/v1/sources")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    revoked = {t["id"]: t for t in client.get("/api/v1/service-tokens").json()["items"]}[created["id"]]
    assert revoked["revoked_at"] is not None


def test_refused_token_is_401_and_audited_without_the_token(
    client: TestClient, sqlite_database: Database
) -> None:
    forged = "slu_svc_not-a-real-token-value"
    response = bearer(client, forged).get("/api/v1/sources")
    assert response.status_code == 401
    with sqlite_database.session() as session:
        entry = session.scalar(select(AuditLog).where(AuditLog.action == "auth.token_refused"))
    assert entry is not None
    assert entry.detail["prefix"] == forged[:12]
    assert forged not in str(entry.detail)


def test_personal_token_acts_as_its_user_within_their_role(client_as: Callable[..., TestClient]) -> None:
    editor = client_as("editor")
    created = editor.post("/api/v1/tokens", json={"name": "laptop"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "personal"
    assert body["role"] == "editor"
    assert body["token"].startswith("slu_pat_")
    mine = bearer(editor, body["token"]).get("/api/v1/auth/me").json()
    assert mine["user"]["email"].startswith("editor-")
    assert mine["role"] == "editor"
    names = [t["name"] for t in editor.get("/api/v1/tokens").json()["items"]]
    assert "laptop" in names


def test_nobody_creates_a_token_above_their_role(client_as: Callable[..., TestClient]) -> None:
    editor = client_as("editor")
    response = editor.post("/api/v1/tokens", json={"name": "sneaky", "role": "owner"})
    assert response.status_code == 403
    assert "higher role" in response.json()["detail"]


def test_viewer_cannot_create_service_tokens(client_as: Callable[..., TestClient]) -> None:
    response = client_as("viewer").post("/api/v1/service-tokens", json={"name": "x"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_cannot_revoke_someone_elses_personal_token(client_as: Callable[..., TestClient]) -> None:
    first, second = client_as("editor"), client_as("editor")
    token_id = first.post("/api/v1/tokens", json={"name": "mine"}).json()["id"]
    assert second.delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert first.delete(f"/api/v1/tokens/{token_id}").status_code == 204


def test_token_works_only_in_its_workspace(client: TestClient, second_workspace: TestClient) -> None:
    response = client.get("/api/v1/sources", headers={"X-Sluice-Workspace": "second"})
    assert response.status_code == 403
    assert "another workspace" in response.json()["detail"]
    assert client.get("/api/v1/sources", headers={"X-Sluice-Workspace": "default"}).status_code == 200
