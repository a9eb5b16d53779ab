"""Alembic environment: runs on the connection handed over by :mod:`sluice.store.migrate`."""

from alembic import context
from sqlalchemy import Connection, create_engine

import sluice.store.tables  # noqa: F401 - registers every table on Base.metadata
from sluice.store.base import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    """Run the migrations on the handed-over connection, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as own_connection:
            _run_on(own_connection)
        return
    _run_on(connection)


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
