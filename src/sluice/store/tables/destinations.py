"""Destinations (configured connections to platforms). Secrets are stored encrypted, never in ``config``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, WorkspaceScoped
from sluice.store.secrets import EncryptedSecretsMixin


class Destination(WorkspaceScoped, EncryptedSecretsMixin, Base):
    """A platform connection: a type, its non-secret config, its encrypted secrets, and the
    default settings new activations to it start from."""

    __tablename__ = "destinations"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    activation_defaults: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_test_status: Mapped[str | None] = mapped_column(String(50), default=None)
    last_test_message: Mapped[str | None] = mapped_column(Text, default=None)
    last_tested_at: Mapped[datetime | None] = mapped_column(default=None)
