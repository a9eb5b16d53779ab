"""The audit log: every change recorded automatically, with before/after, actor, request id, no secrets."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluice.auth.accounts import find_workspace
from sluice.auth.audit import Actor, acting_as, record_audit
from sluice.core.errors import PermissionDenied
from sluice.store.db import Database
from sluice.store.tables.audit import AuditLog
from sluice.store.tables.sources import Source

SECRET = "pw-very-secret-4711"


def entries(client: TestClient, **filters: str) -> list[dict[str, object]]:
    response = client.get("/api/v1/audit-logs", params=filters)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_source_lifecycle_is_audited_with_before_and_after(client: TestClient) -> None:
    created = client.post(
        "/api/v1/sources",
        json={"name": "dwh", "type": "postgres", "config": {"host": "a"}, "secrets": {"password": SECRET}},
        headers={"X-Request-ID": "req-create-1"},
    ).json()
    client.patch(
        f"/api/v1/sources/{created['id']}",
        json={"config": {"host": "b"}, "secrets": {"password": SECRET + "-new"}},
    )
    client.delete(f"/api/v1/sources/{created['id']}")
    log = entries(client, target_type="source", target_id=created["id"])
    assert [e["action"] for e in log] == ["create", "update", "delete"]
    create, update, delete = log
    assert create["changes"]["name"] == {"after": "dwh"}
    assert create["changes"]["encrypted_fields"] == {"after": ["password"]}
    assert create["request_id"] == "req-create-1"
    assert create["actor_type"] == "token"
    assert create["actor_name"] == "token:tests-owner"
    assert update["changes"]["config"]["before"]["host"] == "a"
    assert update["changes"]["config"]["after"]["host"] == "b"
    assert update["changes"]["encrypted_fields"]["changed"] is True
    assert update["changes"]["encrypted_fields"]["after"] == ["password"]
    assert delete["changes"]["name"] == {"before": "dwh"}
    text = json.dumps(log)
    assert SECRET not in text
    assert "secrets_encrypted" not in text


def test_user_actions_name_the_user(client_as: Callable[..., TestClient]) -> None:
    admin = client_as("admin")
    admin.post("/api/v1/sources", json={"name": "by-admin", "type": "duckdb"})
    (entry,) = entries(admin, target_type="source")
    assert entry["actor_type"] == "user"
    assert str(entry["actor_name"]).startswith("admin-")
    assert entry["actor_id"]


def test_token_and_membership_changes_are_audited_without_hashes(client: TestClient) -> None:
    created = client.post("/api/v1/service-tokens", json={"name": "robot", "role": "viewer"}).json()
    client.delete(f"/api/v1/service-tokens/{created['id']}")
    log = entries(client, target_type="api_token")
    assert [e["action"] for e in log[-2:]] == ["create", "update"]
    assert "revoked_at" in log[-1]["changes"]
    text = json.dumps(log)
    assert created["token"] not in text
    assert "token_hash" not in text


def test_filters_and_export(client: TestClient) -> None:
    for name in ("one", "two"):
        client.post("/api/v1/sources", json={"name": name, "type": "duckdb"})
    assert len(entries(client, action="create", target_type="source")) == 2
    assert entries(client, action="auth.*") == []
    page = client.get("/api/v1/audit-logs", params={"limit": 1}).json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    exported = client.get("/api/v1/audit-logs/export", params={"target_type": "source"})
    assert exported.status_code == 200
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [line["changes"]["name"]["after"] for line in lines] == ["one", "two"]
    as_csv = client.get("/api/v1/audit-logs/export", params={"format": "csv"})
    assert as_csv.text.splitlines()[0].startswith("id,created_at,workspace_id,actor_type")


def test_newest_first_pages_backwards_through_a_filtered_log(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    for name in ("first", "second", "third"):
        client.post("/api/v1/sources", json={"name": name, "type": "duckdb"})
    admin = client_as("admin")
    admin.post("/api/v1/sources", json={"name": "by-admin", "type": "duckdb"})
    mine = entries(client, target_type="source", action="create")
    actor_id = str(mine[0]["actor_id"])
    newest = client.get(
        "/api/v1/audit-logs",
        params={"target_type": "source", "actor_id": actor_id, "order": "newest", "limit": 2},
    ).json()
    assert [e["changes"]["name"]["after"] for e in newest["items"]] == ["third", "second"]
    rest = client.get(
        "/api/v1/audit-logs",
        params={
            "target_type": "source",
            "actor_id": actor_id,
            "order": "newest",
            "cursor": newest["next_cursor"],
        },
    ).json()
    assert [e["changes"]["name"]["after"] for e in rest["items"]] == ["first"]
    assert rest["next_cursor"] is None
    since = str(mine[1]["created_at"])
    later = entries(client, target_type="source", actor_id=actor_id, since=since)
    assert [e["changes"]["name"]["after"] for e in later] == ["second", "third"]  # type: ignore[index]
    assert client.get("/api/v1/audit-logs", params={"order": "sideways"}).status_code == 422


def test_sign_in_is_audited(
    anonymous_client: TestClient, client: TestClient, sqlite_database: Database
) -> None:
    anonymous_client.post("/api/v1/auth/login", json={"email": "ghost@example.com", "password": "x" * 12})
    with sqlite_database.session() as session:
        failed = session.scalar(select(AuditLog).where(AuditLog.action == "auth.login_failed"))
    assert failed is not None
    assert failed.detail == {"email": "ghost@example.com", "locked": False}
    assert failed.actor_type == "anonymous"


def test_changes_outside_requests_are_recorded_as_the_system_or_cli(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        workspace_id = find_workspace(session, "default").id
        session.add(Source(workspace_id=workspace_id, name="by-worker", type="duckdb"))
    with acting_as(Actor("cli", None, "cli:ops")), sqlite_database.session() as session:
        session.add(Source(workspace_id=workspace_id, name="by-cli", type="duckdb"))
        record_audit(session, "run.started", "run", "r1", {"trigger": "manual"}, workspace_id=workspace_id)
    with sqlite_database.session() as session:
        rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    by_target = {(r.action, r.changes.get("name", {}).get("after")): r for r in rows}
    assert by_target[("create", "by-worker")].actor_type == "system"
    assert by_target[("create", "by-cli")].actor_name == "cli:ops"
    started = next(r for r in rows if r.action == "run.started")
    assert started.actor_name == "cli:ops"
    assert started.detail == {"trigger": "manual"}


def _tamper(database: Database, delete: bool) -> None:
    with database.session() as session:
        row = session.scalars(select(AuditLog)).first()
        assert row is not None
        if delete:
            session.delete(row)
        else:
            row.action = "tampered"
        session.flush()


def test_audit_rows_cannot_be_changed(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        record_audit(session, "test.event", "thing", "t1", workspace_id=None)
    with pytest.raises(PermissionDenied):
        _tamper(sqlite_database, delete=False)
    with pytest.raises(PermissionDenied):
        _tamper(sqlite_database, delete=True)


def test_audit_log_needs_the_audit_permission(client_as: Callable[..., TestClient]) -> None:
    assert client_as("editor").get("/api/v1/audit-logs").status_code == 403
    assert client_as("admin").get("/api/v1/audit-logs").status_code == 200


def test_audit_trail_on_every_backend(database: Database) -> None:
    with acting_as(Actor("cli", None, "cli:test")), database.session() as session:
        workspace_id = find_workspace(session, "default").id
        source = Source(workspace_id=workspace_id, name="pg-audited", type="duckdb", config={"a": 1})
        session.add(source)
        session.flush()
        source.config = {"a": 2}
        session.flush()
        session.delete(source)
    with database.session() as session:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.target_id == source.id).order_by(AuditLog.id)
        ).all()
    assert [r.action for r in rows] == ["create", "update", "delete"]
    assert rows[1].changes["config"] == {"before": {"a": 1}, "after": {"a": 2}}
    assert {r.actor_name for r in rows} == {"cli:test"}


def test_bulk_updates_are_audited_but_heartbeats_are_not(database: Database) -> None:
    from sqlalchemy import delete, update

    with database.session() as session:
        workspace_id = find_workspace(session, "default").id
        source = Source(workspace_id=workspace_id, name="bulk", type="duckdb", description="old")
        session.add(source)
    with acting_as(Actor("worker", None, "worker:1")), database.session() as session:
        session.execute(update(Source).where(Source.id == source.id).values(description="new"))
        session.execute(update(Source).where(Source.id == source.id).values(updated_at=source.updated_at))
        session.execute(delete(Source).where(Source.id == source.id))
    with database.session() as session:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.target_id == source.id).order_by(AuditLog.id)
        ).all()
    assert [r.action for r in rows] == ["create", "update", "delete"]
    assert rows[1].changes == {"description": {"before": "old", "after": "new"}}
    assert rows[1].actor_name == "worker:1"
    assert rows[2].changes["name"] == {"before": "bulk"}
