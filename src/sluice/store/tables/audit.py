"""The audit log: one append-only row per change or security event.

Rows are written by :mod:`sluice.auth.audit` (automatically for every workspace-scoped ORM change,
and explicitly through ``record_audit``); the application never updates or deletes them.
``workspace_id`` has no foreign key on purpose: the trail outlives what it describes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sluice.core.ids import new_id
from sluice.store.base import Base, utcnow


class AuditLog(Base):
    """Who did what to which object, when, from where, with the before/after of changed fields."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_workspace_target", "workspace_id", "target_type", "target_id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    workspace_id: Mapped[str | None] = mapped_column(String(26), index=True, default=None)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(26), default=None)
    actor_name: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(60))
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # {"field": {"before": …, "after": …}} for changes; free-form detail for other events.
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)


# The listener that fills this table lives with the rest of the audit logic; importing it here
# guarantees it is installed in every process that uses the store (API, CLI, workers).
import sluice.auth.audit  # noqa: E402, F401
