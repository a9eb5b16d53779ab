"""AI predictions: predictors (what to predict, on which users model) and their trained versions.

A :class:`PredictorVersion` is one training + scoring run: its state and progress, the metrics
measured on a time-based holdout, the feature importance, and where its scores were written.
``Predictor.active_version_id`` points at the version whose scores the users model's prediction
fields read; it flips in the same transaction that repoints those fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, WorkspaceScoped


class Predictor(WorkspaceScoped, Base):
    """A churn, LTV or recommendations predictor over a users model."""

    __tablename__ = "predictors"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(30))
    model_id: Mapped[str] = mapped_column(String(26), ForeignKey("models.id", ondelete="CASCADE"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schedule_cron: Mapped[str | None] = mapped_column(String(100), default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    active_version_id: Mapped[str | None] = mapped_column(String(26), default=None)


class PredictorVersion(WorkspaceScoped, Base):
    """One training and scoring run of a predictor (its run history and model versions)."""

    __tablename__ = "predictor_versions"
    __table_args__ = (UniqueConstraint("predictor_id", "number"),)
    # Run history is its own record (progress updates every few seconds would flood the trail);
    # starting a run is audited explicitly as ``prediction.run_started``.
    __audit__ = False

    predictor_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("predictors.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    step: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    cutoff: Mapped[datetime | None] = mapped_column(default=None)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    feature_importance: Mapped[list[Any] | None] = mapped_column(default=None)
    rows_scored: Mapped[int | None] = mapped_column(Integer, default=None)
    scores_location: Mapped[dict[str, Any] | None] = mapped_column(default=None)
