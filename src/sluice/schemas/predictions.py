"""API and config schemas of AI predictions (predictors and their versions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sluice.predictions.spec import PredictorConfig, PredictorKind


class PredictorCreate(BaseModel):
    """A new churn, LTV or recommendations predictor over a users model."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    kind: PredictorKind
    model_id: str
    config: PredictorConfig = Field(default_factory=PredictorConfig)
    schedule_cron: str | None = Field(default=None, description="Retrain and rescore on this cron schedule.")


class PredictorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    config: PredictorConfig | None = None
    schedule_cron: str | None = Field(default=None, description="Empty string removes the schedule.")


class VersionOut(BaseModel):
    """One training and scoring run: state, metrics and feature importance."""

    id: str
    number: int
    state: str
    trigger: str
    progress: float
    step: str
    message: str | None
    started_at: datetime | None
    finished_at: datetime | None
    cutoff: datetime | None
    metrics: dict[str, Any] | None
    feature_importance: list[dict[str, Any]] | None
    rows_scored: int | None
    active: bool
    created_at: datetime


class PredictorOut(BaseModel):
    id: str
    name: str
    description: str
    kind: PredictorKind
    model_id: str
    config: PredictorConfig
    schedule_cron: str | None
    next_run_at: datetime | None
    fields: list[str]
    active_version: VersionOut | None
    created_at: datetime
