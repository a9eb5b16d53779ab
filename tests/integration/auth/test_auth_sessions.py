"""Password sign-in, session cookies, CSRF, sign-out, lock-out, demo sign-in and first-start setup."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from sluice.api.app import create_app
from sluice.auth.accounts import add_member, create_user, find_workspace
from sluice.auth.bootstrap import first_start
from sluice.auth.permissions import Role
from sluice.core.settings import Settings
from sluice.store.db import Database
from sluice.store.tables.auth import User, UserSession

PASSWORD = "correct horse battery"


@pytest.fixture
def alice(sqlite_database: Database) -> str:
    with sqlite_database.session() as session:
        user = create_user(session, "Alice@Example.com", name="Alice", password=PASSWORD)
        add_member(session, user, find_workspace(session, "default").id, Role.ADMIN)
    return "alice@example.com"


def login(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return client


def test_login_sets_session_and_csrf_cookies(anonymous_client: TestClient, alice: str) -> None:
    response = anonymous_client.post(
        "/api/v1/auth/login", json={"email": "ALICE@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == alice
    assert body["current_workspace"]["slug"] == "default"
    assert body["role"] == "admin"
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("sluice_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("sluice_csrf="))
    assert "HttpOnly" in session_cookie
    assert "samesite=lax" in session_cookie.lower()
    assert "Secure" not in session_cookie  # served over plain http here
    assert "HttpOnly" not in csrf_cookie
    assert PASSWORD not in response.text


def test_session_cookie_is_secure_over_https(
    settings: Settings, sqlite_database: Database, alice: str
) -> None:
    with TestClient(create_app(settings, sqlite_database), base_url="https://sluice.test") as browser:
        response = browser.post("/api/v1/auth/login", json={"email": alice, "password": PASSWORD})
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("sluice_session="))
    assert "Secure" in cookie


def test_session_stores_only_a_digest(
    anonymous_client: TestClient, alice: str, sqlite_database: Database
) -> None:
    login(anonymous_client, alice)
    plain = anonymous_client.cookies["sluice_session"]
    with sqlite_database.session() as session:
        stored = session.scalars(select(UserSession.token_hash)).all()
        password_hash = session.scalar(select(User.password_hash).where(User.email == alice))
    assert stored
    assert plain not in stored
    assert password_hash is not None
    assert password_hash.startswith("$argon2id$")


def test_me_lists_workspaces_and_roles(anonymous_client: TestClient, alice: str) -> None:
    login(anonymous_client, alice)
    me = anonymous_client.get("/api/v1/auth/me").json()
    assert me["authenticated_by"] == "session"
    assert [(w["slug"], w["role"]) for w in me["workspaces"]] == [("default", "admin")]


def test_unsafe_request_by_cookie_needs_the_csrf_header(anonymous_client: TestClient, alice: str) -> None:
    login(anonymous_client, alice)
    body = {"name": "csrf-check", "type": "duckdb"}
    missing = anonymous_client.post("/api/v1/sources", json=body)
    assert missing.status_code == 403
    assert missing.headers["content-type"] == "application/problem+json"
    assert "X-CSRF-Token" in missing.json()["detail"]
    wrong = anonymous_client.post("/api/v1/sources", json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert anonymous_client.get("/api/v1/sources").status_code == 200  # safe methods need no header


def test_csrf_header_must_match_the_session(anonymous_client: TestClient, alice: str) -> None:
    login(anonymous_client, alice)
    csrf = anonymous_client.cookies["sluice_csrf"]
    ok = anonymous_client.post(
        "/api/v1/sources", json={"name": "with-csrf", "type": "duckdb"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201, ok.text
    # A cookie pair planted by an attacker (header = cookie, but not this session's) is refused.
    anonymous_client.cookies.set("sluice_csrf", "planted")
    planted = anonymous_client.post(
        "/api/v1/sources", json={"name": "planted", "type": "duckdb"}, headers={"X-CSRF-Token": "planted"}
    )
    assert planted.status_code == 403


def test_bearer_token_needs_no_csrf(client: TestClient) -> None:
    assert client.post("/api/v1/sources", json={"name": "no-csrf", "type": "duckdb"}).status_code == 201


def test_logout_ends_the_session(anonymous_client: TestClient, alice: str) -> None:
    login(anonymous_client, alice)
    csrf = anonymous_client.cookies["sluice_csrf"]
    old_session = anonymous_client.cookies["sluice_session"]
    assert anonymous_client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    anonymous_client.cookies.set("sluice_session", old_session)
    response = anonymous_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_no_credentials_is_401(anonymous_client: TestClient) -> None:
    response = anonymous_client.get("/api/v1/sources")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_wrong_password_is_401_without_saying_which_part(anonymous_client: TestClient, alice: str) -> None:
    wrong = anonymous_client.post("/api/v1/auth/login", json={"email": alice, "password": "nope-nope-nope"})
    unknown = anonymous_client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": "x" * 12}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong email or password"


def test_repeated_failures_lock_the_account_for_that_address(
    anonymous_client: TestClient, alice: str
) -> None:
    for _ in range(5):
        assert (
            anonymous_client.post(
                "/api/v1/auth/login", json={"email": alice, "password": "guess-guess-guess"}
            ).status_code
            == 401
        )
    locked = anonymous_client.post("/api/v1/auth/login", json={"email": alice, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "too many failed sign-ins" in locked.json()["detail"]


def test_success_clears_earlier_failures(anonymous_client: TestClient, alice: str) -> None:
    for _ in range(4):
        anonymous_client.post("/api/v1/auth/login", json={"email": alice, "password": "guess-guess-guess"})
    login(anonymous_client, alice)
    for _ in range(4):
        anonymous_client.post("/api/v1/auth/login", json={"email": alice, "password": "guess-guess-guess"})
    login(anonymous_client, alice)


def test_demo_login_only_in_demo_mode(settings: Settings, sqlite_database: Database) -> None:
    with TestClient(create_app(settings, sqlite_database)) as browser:
        assert browser.post("/api/v1/auth/demo-login").status_code == 404
    demo = settings.model_copy(update={"demo": True})
    with TestClient(create_app(demo, sqlite_database)) as browser:
        response = browser.post("/api/v1/auth/demo-login")
        assert response.status_code == 200, response.text
        assert response.json()["role"] == "owner"
        assert browser.get("/api/v1/auth/me").json()["user"]["email"] == "demo@sluice.local"
        assert browser.get("/api/v1/auth/setup").json() == {"needs_setup": False, "demo": True}


def test_first_start_creates_the_owner_from_settings(settings: Settings, sqlite_database: Database) -> None:
    configured = settings.model_copy(
        update={"admin_email": "root@example.com", "admin_password": SecretStr(PASSWORD)}
    )
    message = first_start(configured, sqlite_database)
    assert message is not None
    assert "root@example.com" in message
    assert first_start(configured, sqlite_database) is None
    with TestClient(create_app(configured, sqlite_database)) as browser:
        assert login(browser, "root@example.com").get("/api/v1/auth/me").json()["role"] == "owner"


def test_first_start_prints_a_one_time_setup_link(settings: Settings, sqlite_database: Database) -> None:
    message = first_start(settings, sqlite_database)
    assert message is not None
    assert "/setup?token=" in message
    token = parse_qs(urlparse(message.split()[-1]).query)["token"][0]
    with TestClient(create_app(settings, sqlite_database)) as browser:
        assert browser.get("/api/v1/auth/setup").json()["needs_setup"] is True
        body = {"token": token, "email": "owner@example.com", "password": PASSWORD, "name": "Owner"}
        created = browser.post("/api/v1/auth/setup", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["role"] == "owner"
        assert browser.get("/api/v1/auth/setup").json()["needs_setup"] is False
        again = browser.post("/api/v1/auth/setup", json=body | {"email": "thief@example.com"})
        assert again.status_code == 401


def test_responses_carry_security_headers(anonymous_client: TestClient) -> None:
    response = anonymous_client.get("/api/v1/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_password_change_signs_out_other_sessions(
    anonymous_client: TestClient, alice: str, settings: Settings, sqlite_database: Database
) -> None:
    with TestClient(create_app(settings, sqlite_database)) as other_browser:
        login(other_browser, alice)
        login(anonymous_client, alice)
        csrf = anonymous_client.cookies["sluice_csrf"]
        wrong = anonymous_client.post(
            "/api/v1/users/me/password",
            json={"current_password": "not-it-at-all", "new_password": "a brand new password"},
            headers={"X-CSRF-Token": csrf},
        )
        assert wrong.status_code == 403
        changed = anonymous_client.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": "a brand new password"},
            headers={"X-CSRF-Token": csrf},
        )
        assert changed.status_code == 204, changed.text
        assert anonymous_client.get("/api/v1/auth/me").status_code == 200
        assert other_browser.get("/api/v1/auth/me").status_code == 401
    login(anonymous_client, alice, "a brand new password")
