"""Job bookkeeping: scheduler state per activation, queue dispatches, pause/resume history, alerts.

The ``runs`` table stays the source of truth for what ran; these tables record *when* the
scheduler decided something (so several schedulers agree through conditional UPDATEs), which
run ids were handed to the queue, and why activations paused or resumed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.core.ids import new_id
from sluice.store.base import Base, WorkspaceScoped, utcnow
from sluice.store.secrets import EncryptedSecretsMixin


class ScheduleState(Base):
    """What the scheduler knows about one activation: the next due time and the pause probe.

    ``next_run_at`` is claimed by ``UPDATE … WHERE next_run_at = <the value read>``: of several
    schedulers reading the same due time, exactly one moves it on and queues the run.
    ``schedule_signature`` notices edits of the schedule, so the next due time is recomputed.
    """

    __tablename__ = "schedule_states"

    activation_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("activations.id", ondelete="CASCADE"), primary_key=True
    )
    schedule_signature: Mapped[str] = mapped_column(String(64), default="")
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    # Automatic pause: probed on a back-off until the cause is gone.
    auto_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_probe_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    probe_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_probe_message: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RunDispatch(Base):
    """A run id handed to the queue; lets schedulers hand each queued run over once.

    A run still queued long after ``enqueued_at`` (its message was lost with a dead worker or a
    crash between commit and enqueue) is handed over again; claiming is idempotent.
    """

    __tablename__ = "run_dispatches"

    run_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # The due time the scheduler queued this run for (None for manual and dependent runs).
    scheduled_for: Mapped[datetime | None] = mapped_column(default=None)


class SettledRun(Base):
    """A finished run whose consequences (failure count, pause, alerts, dependants) were applied.

    Inserting the row is the claim: whoever inserts it first settles the run, exactly once.
    """

    __tablename__ = "settled_runs"

    run_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    settled_at: Mapped[datetime] = mapped_column(default=utcnow)


class PauseEvent(WorkspaceScoped, Base):
    """One pause or resume of an activation, with who or what did it and why."""

    __tablename__ = "activation_pause_events"

    activation_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("activations.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(10))  # pause | resume
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200), default="system")
    run_id: Mapped[str | None] = mapped_column(String(26), default=None)


class AlertChannel(WorkspaceScoped, EncryptedSecretsMixin, Base):
    """Where a workspace's alerts go: a webhook (JSON), a Slack incoming webhook, or e-mail.

    Webhook and Slack URLs are secrets (a Slack URL is its own credential); e-mail recipients are
    plain config. ``events`` lists what the channel receives (failure, pause, resume, warning).
    """

    __tablename__ = "alert_channels"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    events: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_sent_at: Mapped[datetime | None] = mapped_column(default=None)


class PendingAlert(Base):
    """An alert decided inside a request's transaction, delivered by the next scheduler tick.

    Deleting the row is the claim, so each alert is sent by one process only.
    """

    __tablename__ = "pending_alerts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    event: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
