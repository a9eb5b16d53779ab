"""Identity graphs (rules over a source's models) and their run history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, WorkspaceScoped


class IdentityGraph(WorkspaceScoped, Base):
    """An identity graph: ``spec`` is a :class:`sluice.identity.spec.IdentitySpec` as JSON.

    Runs write the graph's tables in ``schema_name`` (the source's bookkeeping schema) under
    ``idr_<slug>_*``; ``model_id`` is the users model over the golden profiles, created by the
    first successful run.
    """

    __tablename__ = "identity_graphs"
    __table_args__ = (UniqueConstraint("workspace_id", "name"), UniqueConstraint("workspace_id", "slug"))

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    source_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schema_name: Mapped[str] = mapped_column(String(200), default="sluice")
    model_id: Mapped[str | None] = mapped_column(
        String(26), ForeignKey("models.id", ondelete="SET NULL"), default=None
    )
    # When runs are queued by the scheduler (the kinds of activations, time-based only).
    schedule: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    schedule_signature: Mapped[str] = mapped_column(String(64), default="")
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


_ACTIVE_RUN_WHERE = text("state = 'running'")


class IdentityRun(WorkspaceScoped, Base):
    """One run of a graph: ``running`` → ``succeeded`` | ``skipped`` | ``failed``, with counts and warnings.

    ``fingerprint`` digests the spec and every input model's rows (computed in the warehouse); a
    run whose fingerprint equals the last successful run's is ``skipped`` and carries its counts.

    ``details`` holds per-rule counts; ``warnings`` user-facing sentences (shared values skipped,
    limits, suspiciously large profiles). At most one running run per graph.
    """

    __tablename__ = "identity_runs"
    __table_args__ = (
        Index(
            "uq_identity_runs_active",
            "graph_id",
            unique=True,
            sqlite_where=_ACTIVE_RUN_WHERE,
            postgresql_where=_ACTIVE_RUN_WHERE,
        ),
    )

    graph_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("identity_graphs.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="running")
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    requested_by: Mapped[str] = mapped_column(String(200), default="system")
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    input_rows: Mapped[int | None] = mapped_column(Integer, default=None)
    profiles: Mapped[int | None] = mapped_column(Integer, default=None)
    merges: Mapped[int | None] = mapped_column(Integer, default=None)
    largest_cluster: Mapped[int | None] = mapped_column(Integer, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
