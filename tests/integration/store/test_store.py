"""The control-plane store on SQLite and on the machine's PostgreSQL."""

from pathlib import Path

from sqlalchemy import inspect, select

from sluice.store.db import Database
from sluice.store.migrate import upgrade
from sluice.store.tables.sources import Source
from sluice.store.tables.workspaces import Workspace


def test_upgrade_creates_schema_and_default_workspace(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    assert {"organizations", "workspaces", "sources", "alembic_version"} <= tables
    with database.session() as session:
        workspaces = session.scalars(select(Workspace)).all()
    assert [w.slug for w in workspaces] == ["default"]


def test_upgrade_is_idempotent(database: Database) -> None:
    upgrade(database)
    with database.session() as session:
        assert len(session.scalars(select(Workspace)).all()) == 1


def test_secrets_are_encrypted_at_rest(database: Database) -> None:
    with database.session() as session:
        workspace = session.scalars(select(Workspace)).one()
        source = Source(workspace_id=workspace.id, name="wh", type="postgres", config={"host": "db"})
        source.write_secrets(database.secrets, {"password": "plain-text-password-123"})
        session.add(source)
    with database.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT secrets_encrypted, secret_fields_set FROM sources").one()
    assert "plain-text-password-123" not in raw[0]
    assert raw[1] == "password"
    with database.session() as session:
        stored = session.scalars(select(Source)).one()
        assert stored.read_secrets(database.secrets) == {"password": "plain-text-password-123"}


def test_secret_merge_keeps_unchanged_keys(database: Database) -> None:
    with database.session() as session:
        workspace = session.scalars(select(Workspace)).one()
        source = Source(workspace_id=workspace.id, name="wh", type="snowflake")
        source.write_secrets(database.secrets, {"password": "a1b2c3", "private_key": "k-e-y"})
        source.write_secrets(database.secrets, {"password": "new-pass"})
        assert source.read_secrets(database.secrets) == {"password": "new-pass", "private_key": "k-e-y"}
        assert source.secret_names == ["password", "private_key"]


def test_sqlite_file_does_not_contain_the_secret(sqlite_database: Database, tmp_path: Path) -> None:
    with sqlite_database.session() as session:
        workspace = session.scalars(select(Workspace)).one()
        source = Source(workspace_id=workspace.id, name="wh", type="postgres")
        source.write_secrets(sqlite_database.secrets, {"password": "needle-in-the-file-42"})
        session.add(source)
    sqlite_database.dispose()
    content = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("sluice.db*"))
    assert b"needle-in-the-file-42" not in content
    assert content  # the database file exists and was read


def test_workspace_cascade_deletes_its_objects(database: Database) -> None:
    with database.session() as session:
        workspace = session.scalars(select(Workspace)).one()
        session.add(Source(workspace_id=workspace.id, name="wh", type="duckdb"))
    with database.session() as session:
        session.delete(session.scalars(select(Workspace)).one())
    with database.session() as session:
        assert session.scalars(select(Source)).all() == []
