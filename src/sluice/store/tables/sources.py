"""Warehouse connections (sources). Secrets are stored encrypted, never in ``config``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, WorkspaceScoped
from sluice.store.secrets import EncryptedSecretsMixin


class Source(WorkspaceScoped, EncryptedSecretsMixin, Base):
    """A warehouse connection: a type, its non-secret config and its encrypted secrets.

    ``introspection`` caches the schemas, tables and columns last read from the warehouse
    (refreshed on demand); ``last_test_*`` keep the outcome of the last connection test.
    """

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(50))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    introspection: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    introspected_at: Mapped[datetime | None] = mapped_column(default=None)
    last_test_status: Mapped[str | None] = mapped_column(String(50), default=None)
    last_test_message: Mapped[str | None] = mapped_column(Text, default=None)
    last_tested_at: Mapped[datetime | None] = mapped_column(default=None)
