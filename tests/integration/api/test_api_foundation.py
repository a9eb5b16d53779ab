"""Health, problem responses, pagination, request ids and write-only secrets."""

import logging

import pytest
from fastapi.testclient import TestClient

from sluice.auth.permissions import Permission


def test_health_checks_the_store(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["X-Request-ID"]


def test_openapi_document_is_served(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/sources" in document["paths"]
    assert document["info"]["title"] == "Sluice"


def test_unknown_object_is_a_problem_response(client: TestClient) -> None:
    response = client.get("/api/v1/sources/nope", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found"
    assert body["request_id"] == "req-123"
    assert "nope" in body["detail"]


def test_invalid_body_names_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/sources", json={"name": "", "type": "duckdb"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("name:")


def test_secrets_are_write_only(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created = client.post(
        "/api/v1/sources",
        json={
            "name": "warehouse",
            "type": "postgres",
            "config": {"host": "db"},
            "secrets": {"password": "pw-xyz-987"},
        },
    )
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    responses = [
        created,
        client.get(f"/api/v1/sources/{source_id}"),
        client.get("/api/v1/sources"),
        client.patch(f"/api/v1/sources/{source_id}", json={"secrets": {"password": "pw-new-654"}}),
    ]
    for response in responses:
        assert "pw-xyz-987" not in response.text
        assert "pw-new-654" not in response.text
    assert created.json()["secret_names"] == ["password"]
    assert "pw-xyz-987" not in caplog.text


def test_duplicate_name_is_a_conflict(client: TestClient) -> None:
    body = {"name": "dup", "type": "duckdb"}
    assert client.post("/api/v1/sources", json=body).status_code == 201
    response = client.post("/api/v1/sources", json=body)
    assert response.status_code == 409
    assert "dup" in response.json()["detail"]


def test_cursor_pagination_walks_every_row_once(client: TestClient) -> None:
    for index in range(7):
        assert client.post("/api/v1/sources", json={"name": f"s{index}", "type": "duckdb"}).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/sources", params=params).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"s{i}" for i in range(7)]


def test_bad_cursor_is_a_clear_error(client: TestClient) -> None:
    response = client.get("/api/v1/sources", params={"cursor": "%%%"})
    assert response.status_code == 422


def test_unknown_workspace_header_is_not_found(client: TestClient) -> None:
    response = client.get("/api/v1/workspace", headers={"X-Sluice-Workspace": "other"})
    assert response.status_code == 404


def test_every_route_declares_a_permission(client: TestClient) -> None:
    from sluice.api.deps import PUBLIC_ROUTES, route_permissions

    routes = route_permissions(client.app)  # type: ignore[arg-type]
    assert ("GET", "/api/v1/sources", {Permission.SOURCES_READ}) in routes
    undeclared = [
        f"{method} {path}"
        for method, path, permissions in routes
        if (method, path) not in PUBLIC_ROUTES and len(permissions) != 1
    ]
    assert undeclared == []
