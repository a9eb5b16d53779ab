"""Shared start-up steps of CLI commands: settings, logging, migrated database."""

from __future__ import annotations

from sluice.core.logging import configure_logging
from sluice.core.settings import Settings, load_settings
from sluice.store.db import Database
from sluice.store.migrate import upgrade


def startup(*, migrate: bool = True) -> tuple[Settings, Database]:
    """Load settings (one clear line on a bad value), configure logs, open and migrate the store."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    database = Database.from_settings(settings)
    if migrate:
        upgrade(database)
    return settings, database
