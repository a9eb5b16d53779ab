"""Invitations, members and roles: nobody grants more than they hold, a workspace keeps an owner."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def member_id(client: TestClient, email_prefix: str) -> str:
    items = client.get("/api/v1/members").json()["items"]
    return str(next(m["id"] for m in items if m["email"].startswith(email_prefix)))


def test_invitation_is_accepted_once_and_signs_in(client: TestClient, anonymous_client: TestClient) -> None:
    invited = client.post("/api/v1/invitations", json={"email": "New.Person@Example.com", "role": "editor"})
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["email"] == "new.person@example.com"
    assert body["accept_url"].endswith(body["token"])
    assert body["token"] not in client.get("/api/v1/invitations").text
    accept = {"token": body["token"], "name": "New Person", "password": PASSWORD}
    accepted = anonymous_client.post("/api/v1/invitations/accept", json=accept)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "editor"
    assert anonymous_client.get("/api/v1/auth/me").json()["user"]["name"] == "New Person"
    assert anonymous_client.post("/api/v1/invitations/accept", json=accept).status_code == 401
    fresh = TestClient(client.app)
    assert (
        fresh.post(
            "/api/v1/auth/login", json={"email": "new.person@example.com", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_new_account_needs_a_password(client: TestClient, anonymous_client: TestClient) -> None:
    token = client.post("/api/v1/invitations", json={"email": "np@example.com"}).json()["token"]
    response = anonymous_client.post("/api/v1/invitations/accept", json={"token": token})
    assert response.status_code == 422
    assert "password" in response.json()["detail"]


def test_withdrawn_invitation_cannot_be_accepted(client: TestClient, anonymous_client: TestClient) -> None:
    created = client.post("/api/v1/invitations", json={"email": "late@example.com"}).json()
    assert client.delete(f"/api/v1/invitations/{created['id']}").status_code == 204
    response = anonymous_client.post(
        "/api/v1/invitations/accept", json={"token": created["token"], "password": PASSWORD}
    )
    assert response.status_code == 401


def test_admin_cannot_invite_or_promote_above_their_role(client_as: Callable[..., TestClient]) -> None:
    admin = client_as("admin")
    refused = admin.post("/api/v1/invitations", json={"email": "boss@example.com", "role": "owner"})
    assert refused.status_code == 403
    client_as("viewer")
    viewer = member_id(admin, "viewer-")
    assert admin.patch(f"/api/v1/members/{viewer}", json={"role": "owner"}).status_code == 403
    promoted = admin.patch(f"/api/v1/members/{viewer}", json={"role": "editor"})
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "editor"


def test_admin_cannot_touch_an_owner(client_as: Callable[..., TestClient]) -> None:
    client_as("owner")
    admin = client_as("admin")
    owner = member_id(admin, "owner-")
    assert admin.delete(f"/api/v1/members/{owner}").status_code == 403


def test_last_owner_stays(client_as: Callable[..., TestClient]) -> None:
    owner = client_as("owner")
    me = member_id(owner, "owner-")
    response = owner.patch(f"/api/v1/members/{me}", json={"role": "viewer"})
    assert response.status_code == 409
    assert "at least one owner" in response.json()["detail"]
    client_as("owner")
    assert owner.patch(f"/api/v1/members/{me}", json={"role": "viewer"}).status_code == 200


def test_removed_member_loses_access_at_once(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    editor = client_as("editor")
    assert editor.get("/api/v1/sources").status_code == 200
    assert client.delete(f"/api/v1/members/{member_id(client, 'editor-')}").status_code == 204
    response = editor.get("/api/v1/sources")
    assert response.status_code == 401
    assert "no longer a member" in response.json()["detail"]


def test_personal_token_follows_a_demotion(client: TestClient, client_as: Callable[..., TestClient]) -> None:
    admin = client_as("admin")
    assert admin.get("/api/v1/audit-logs").status_code == 200
    client.patch(f"/api/v1/members/{member_id(client, 'admin-')}", json={"role": "viewer"})
    assert admin.get("/api/v1/audit-logs").status_code == 403


def test_owner_creates_a_workspace_and_becomes_its_owner(client_as: Callable[..., TestClient]) -> None:
    owner = client_as("owner")
    created = owner.post("/api/v1/workspaces", json={"name": "Marketing EU"})
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == "marketing-eu"
    mine = {w["slug"]: w["role"] for w in owner.get("/api/v1/workspaces").json()}
    assert mine == {"default": "owner", "marketing-eu": "owner"}
    assert owner.post("/api/v1/workspaces", json={"name": "Marketing EU"}).status_code == 409
