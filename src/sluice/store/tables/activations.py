"""Activations (segment → destination syncs) and their runs.

The ``runs`` table is the source of truth for run state; job queues only carry run ids.
At most one *active* run (queued or running) per activation is enforced by a partial unique
index, so two schedulers or a double click can never start two runs of one activation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, WorkspaceScoped

ACTIVE_RUN_STATES = ("queued", "running")
_ACTIVE_RUN_WHERE = text("state IN ('queued', 'running')")


class Activation(WorkspaceScoped, Base):
    """Keeps one destination target in step with one segment.

    ``segment_id`` and ``destination_id`` reference objects of the segments and destinations rooms;
    they are checked by the activation service when saved.
    """

    __tablename__ = "activations"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    segment_id: Mapped[str] = mapped_column(String(26), index=True)
    destination_id: Mapped[str] = mapped_column(String(26), index=True)
    service: Mapped[str] = mapped_column(String(50))
    # {"kind": "static_segment", "id": "…", "name": "…", "create_if_missing": true, "parent_id": "…"}
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"field": "email", "kind": "email"}: model field sent as the destination identifier.
    identifier: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"source": "first_name", "destination": "FNAME"}, …]
    mapping: Mapped[list[Any]] = mapped_column(default=list)
    # {"kind": "manual"} | {"kind": "interval", "minutes": 60} | {"kind": "cron", …} | …
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # removal behaviour, full-refresh behaviour, diff mode, warning thresholds, …
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The committed snapshot (pointer flipped atomically at the end of a run).
    snapshot_uri: Mapped[str | None] = mapped_column(Text, default=None)
    snapshot_rows: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_hash: Mapped[str | None] = mapped_column(String(100), default=None)
    snapshot_run_id: Mapped[str | None] = mapped_column(String(26), default=None)
    # Everything the snapshot was computed over: a change here forces a full diff of every row.
    snapshot_signature: Mapped[str | None] = mapped_column(String(64), default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)


class Run(WorkspaceScoped, Base):
    """One execution of an activation: state machine, stage timings, counts, warnings, error."""

    __tablename__ = "runs"
    __table_args__ = (
        Index(
            "uq_runs_one_active_per_activation",
            "activation_id",
            unique=True,
            sqlite_where=_ACTIVE_RUN_WHERE,
            postgresql_where=_ACTIVE_RUN_WHERE,
        ),
    )

    activation_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("activations.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    full_refresh: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str | None] = mapped_column(String(200), default=None)
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    stage: Mapped[str | None] = mapped_column(String(20), default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"extract": 1.2, "validate": 0.1, …} seconds per stage
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # audience, invalid, added, changed, removed, planned, delivered, rejected, failed
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_kind: Mapped[str | None] = mapped_column(String(50), default=None)
    # Parquet of per-row outcomes (key, identifier, op, status, message) and invalid rows.
    outcomes_uri: Mapped[str | None] = mapped_column(Text, default=None)
