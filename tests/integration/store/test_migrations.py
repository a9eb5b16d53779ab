"""Migrations and table definitions agree (no model change without a migration)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import sluice.store.tables  # noqa: F401 - registers every table
from sluice.store.base import Base
from sluice.store.db import Database


def test_migrations_match_table_definitions(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_single_migration_head() -> None:
    from alembic.script import ScriptDirectory

    from sluice.store.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: add a merge revision"
