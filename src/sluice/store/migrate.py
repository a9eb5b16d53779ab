"""Schema migrations (Alembic) run from code: ``sluice db upgrade`` and start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.store.db import Database
from sluice.store.tables.workspaces import (
    DEFAULT_ORGANIZATION_SLUG,
    DEFAULT_WORKSPACE_SLUG,
    Organization,
    Workspace,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision and make sure the default workspace exists."""
    with database.engine.begin() as connection:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    with database.session() as session:
        ensure_default_workspace(session)


def ensure_default_workspace(session: Session) -> Workspace:
    """The default organization and workspace, created on first use."""
    org = session.scalar(select(Organization).where(Organization.slug == DEFAULT_ORGANIZATION_SLUG))
    if org is None:
        org = Organization(name="Default organization", slug=DEFAULT_ORGANIZATION_SLUG)
        session.add(org)
        session.flush()
    workspace = session.scalar(
        select(Workspace).where(Workspace.organization_id == org.id, Workspace.slug == DEFAULT_WORKSPACE_SLUG)
    )
    if workspace is None:
        workspace = Workspace(organization_id=org.id, name="Default workspace", slug=DEFAULT_WORKSPACE_SLUG)
        session.add(workspace)
        session.flush()
    return workspace
