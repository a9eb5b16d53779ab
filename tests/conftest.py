"""Fixtures shared by the whole suite: settings in a temp dir, control databases, API client."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.auth.accounts import add_member, create_user, create_workspace, find_workspace
from sluice.auth.permissions import Role
from sluice.auth.tokens import issue_token
from sluice.core.settings import Settings
from sluice.store.db import Database
from sluice.store.migrate import upgrade
from sluice.store.tables.workspaces import DEFAULT_WORKSPACE_SLUG

PG_ADMIN_DSN = os.environ.get("SLUICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose data dir is a fresh temporary directory."""
    for name in list(os.environ):
        if name.startswith("SLUICE_") and name != "SLUICE_TEST_PG":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin DSN of the machine's PostgreSQL, or skip with the reason."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:  # pragma: no cover - services are started by .ci/run
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {exc}")
    return PG_ADMIN_DSN


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    name = f"sluice_test_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Database]:
    """A migrated control database, on SQLite and on PostgreSQL."""
    url = settings.control_db_url if request.param == "sqlite" else request.getfixturevalue("pg_database")
    db = Database(url, settings.resolved_secret_key)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(settings: Settings) -> Iterator[Database]:
    """A migrated SQLite control database in the temp data dir."""
    db = Database.from_settings(settings)
    upgrade(db)
    yield db
    db.dispose()


def _service_token(database: Database, workspace_slug: str, role: Role) -> str:
    with database.session() as session:
        workspace = find_workspace(session, workspace_slug)
        issued = issue_token(
            session, workspace_id=workspace.id, name=f"tests-{role.value}", kind="service", role=role
        )
        return issued.plain


@pytest.fixture
def client(settings: Settings, sqlite_database: Database) -> Iterator[TestClient]:
    """An API client on a fresh store, acting as an owner of the default workspace (service token)."""
    with TestClient(create_app(settings, sqlite_database)) as test_client:
        token = _service_token(sqlite_database, DEFAULT_WORKSPACE_SLUG, Role.OWNER)
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


@pytest.fixture
def anonymous_client(client: TestClient) -> Iterator[TestClient]:
    """A client on the same app and store as ``client``, without credentials."""
    with TestClient(client.app) as test_client:
        yield test_client


@pytest.fixture
def client_as(client: TestClient, sqlite_database: Database) -> Iterator[Callable[..., TestClient]]:
    """``client_as("viewer")``: a client signed in (personal token) as a new user with that role.

    ``workspace="second"`` acts in the workspace of the ``second_workspace`` fixture instead.
    """
    opened: list[TestClient] = []

    def make(role: str | Role, workspace: str = DEFAULT_WORKSPACE_SLUG) -> TestClient:
        with sqlite_database.session() as session:
            target = find_workspace(session, workspace)
            user = create_user(session, f"{Role(role).value}-{len(opened)}-{target.slug}@example.com")
            add_member(session, user, target.id, Role(role))
            plain = issue_token(
                session,
                workspace_id=target.id,
                name="tests",
                kind="personal",
                role=Role(role),
                user_id=user.id,
            ).plain
        other = TestClient(client.app, headers={"Authorization": f"Bearer {plain}"})
        opened.append(other)
        return other

    yield make
    for other in opened:
        other.close()


@pytest.fixture
def second_workspace(client: TestClient, sqlite_database: Database) -> TestClient:
    """A second workspace (slug ``second``) of the same organization, with an owner client acting in it."""
    with sqlite_database.session() as session:
        default = find_workspace(session, DEFAULT_WORKSPACE_SLUG)
        create_workspace(session, default.organization_id, "Second workspace", "second")
    token = _service_token(sqlite_database, "second", Role.OWNER)
    return TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
