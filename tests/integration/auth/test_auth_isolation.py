"""Nothing crosses workspaces: another workspace's ids are 404, lists show only the own workspace."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from sluice.auth.accounts import add_member, create_user, find_workspace
from sluice.auth.permissions import Role
from sluice.store.db import Database

PASSWORD = "correct horse battery"


def test_source_of_another_workspace_is_not_found(client: TestClient, second_workspace: TestClient) -> None:
    created = client.post("/api/v1/sources", json={"name": "a-only", "type": "duckdb"})
    source_id = created.json()["id"]
    assert second_workspace.get(f"/api/v1/sources/{source_id}").status_code == 404
    assert second_workspace.patch(f"/api/v1/sources/{source_id}", json={"name": "stolen"}).status_code == 404
    assert second_workspace.delete(f"/api/v1/sources/{source_id}").status_code == 404
    assert client.get(f"/api/v1/sources/{source_id}").json()["name"] == "a-only"


def test_lists_show_only_the_own_workspace(client: TestClient, second_workspace: TestClient) -> None:
    client.post("/api/v1/sources", json={"name": "in-default", "type": "duckdb"})
    second_workspace.post("/api/v1/sources", json={"name": "in-second", "type": "duckdb"})
    assert [s["name"] for s in client.get("/api/v1/sources").json()["items"]] == ["in-default"]
    assert [s["name"] for s in second_workspace.get("/api/v1/sources").json()["items"]] == ["in-second"]


def test_same_name_may_exist_in_two_workspaces(client: TestClient, second_workspace: TestClient) -> None:
    body = {"name": "warehouse", "type": "duckdb"}
    assert client.post("/api/v1/sources", json=body).status_code == 201
    assert second_workspace.post("/api/v1/sources", json=body).status_code == 201


@pytest.mark.parametrize(
    ("create_path", "body", "item_path"),
    [
        ("/api/v1/service-tokens", {"name": "t"}, "/api/v1/service-tokens/{id}"),
        ("/api/v1/invitations", {"email": "x@example.com"}, "/api/v1/invitations/{id}"),
        (
            "/api/v1/sso-providers",
            {
                "name": "idp",
                "discovery_url": "http://127.0.0.1:9/.well-known/openid-configuration",
                "client_id": "c",
                "client_secret": "s3cret-value",
                "domains": ["acme.test"],
            },
            "/api/v1/sso-providers/{id}",
        ),
    ],
)
def test_auth_objects_of_another_workspace_are_not_found(
    client: TestClient,
    second_workspace: TestClient,
    create_path: str,
    body: dict[str, object],
    item_path: str,
) -> None:
    created = client.post(create_path, json=body)
    assert created.status_code == 201, created.text
    path = item_path.format(id=created.json()["id"])
    assert second_workspace.delete(path).status_code == 404
    listed = second_workspace.get(create_path).json()["items"]
    assert created.json()["id"] not in [item["id"] for item in listed]


def test_member_of_another_workspace_is_not_found(
    client: TestClient, second_workspace: TestClient, client_as: Callable[..., TestClient]
) -> None:
    client_as("viewer")
    member_id = client.get("/api/v1/members").json()["items"][-1]["id"]
    assert second_workspace.patch(f"/api/v1/members/{member_id}", json={"role": "admin"}).status_code == 404
    assert second_workspace.delete(f"/api/v1/members/{member_id}").status_code == 404


def test_audit_log_shows_only_the_own_workspace(client: TestClient, second_workspace: TestClient) -> None:
    client.post("/api/v1/sources", json={"name": "audited-a", "type": "duckdb"})
    entries = second_workspace.get("/api/v1/audit-logs", params={"target_type": "source"}).json()["items"]
    assert entries == []


def test_user_switches_workspace_only_where_a_member(
    anonymous_client: TestClient, second_workspace: TestClient, sqlite_database: Database
) -> None:
    with sqlite_database.session() as session:
        user = create_user(session, "multi@example.com", password=PASSWORD)
        add_member(session, user, find_workspace(session, "default").id, Role.VIEWER)
    login = anonymous_client.post(
        "/api/v1/auth/login", json={"email": "multi@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    denied = anonymous_client.get("/api/v1/sources", headers={"X-Sluice-Workspace": "second"})
    assert denied.status_code == 403
    assert "not a member" in denied.json()["detail"]
    with sqlite_database.session() as session:
        add_member(session, user, find_workspace(session, "second").id, Role.ADMIN)
    me = anonymous_client.get("/api/v1/auth/me", headers={"X-Sluice-Workspace": "second"}).json()
    assert me["current_workspace"]["slug"] == "second"
    assert me["role"] == "admin"
    assert sorted(w["slug"] for w in me["workspaces"]) == ["default", "second"]
    assert anonymous_client.get("/api/v1/auth/me").json()["current_workspace"]["slug"] == "default"
