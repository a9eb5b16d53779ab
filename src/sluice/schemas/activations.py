"""API and config-as-code schemas of activations and runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sluice.sync.audience import RESERVED, IdentifierKind
from sluice.sync.plan import RemovalBehaviour, Service


class DiffMode(StrEnum):
    """Where the diff runs: local DuckDB over Parquet, in the warehouse's bookkeeping schema, or chosen by size."""

    AUTO = "auto"
    LOCAL = "local"
    WAREHOUSE = "warehouse"


class FullRefreshBehaviour(StrEnum):
    """What a full refresh does: the destination's strategy (recreate target or read members), or resend all."""

    DESTINATION_DEFAULT = "destination_default"
    RESEND_ALL = "resend_all"


class TargetSpec(BaseModel):
    """The object at the destination the activation writes to (list, static segment, tag, …)."""

    kind: str = Field(description="Target kind offered by the destination, e.g. static_segment, tag, list.")
    id: str | None = Field(
        default=None, description="Id at the destination; empty to create it on first run."
    )
    name: str | None = Field(default=None, description="Display name, and the name used when creating it.")
    parent_id: str | None = Field(default=None, description="Parent object (e.g. the Mailchimp audience).")
    create_if_missing: bool = False

    @field_validator("kind")
    @classmethod
    def _kind_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("choose a target kind")
        return value


class IdentifierSpec(BaseModel):
    """Which model field identifies a row at the destination, and what it holds."""

    field: str = Field(description="Model field sent as the identifier.")
    kind: IdentifierKind = IdentifierKind.EMAIL


class MappingSpec(BaseModel):
    """One model field sent as one destination field."""

    source: str
    destination: str

    @field_validator("destination")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED or not value.strip():
            raise ValueError(f"'{value}' can not be used as a destination field name")
        return value


class WarningSettings(BaseModel):
    reject_rate: float = Field(default=0.05, ge=0, le=1)
    audience_swing: float = Field(default=0.5, ge=0)
    throttled_seconds: float = Field(default=30.0, ge=0)


class ActivationSettings(BaseModel):
    """Behaviour of an activation's runs."""

    removal: RemovalBehaviour = Field(
        default=RemovalBehaviour.IGNORE, description="Upserts: what to do with rows that left the segment."
    )
    full_refresh: FullRefreshBehaviour = FullRefreshBehaviour.DESTINATION_DEFAULT
    diff_mode: DiffMode = DiffMode.AUTO
    batch_rows: int | None = Field(
        default=None, ge=1, le=100_000, description="Override the destination's batch size."
    )
    warnings: WarningSettings = Field(default_factory=WarningSettings)


class ActivationBase(BaseModel):
    description: str = ""
    service: Service
    target: TargetSpec
    identifier: IdentifierSpec
    mapping: list[MappingSpec] = Field(default_factory=list)
    schedule: dict[str, Any] = Field(default_factory=lambda: {"kind": "manual"})
    settings: ActivationSettings = Field(default_factory=ActivationSettings)
    enabled: bool = True

    @field_validator("mapping")
    @classmethod
    def _unique_destinations(cls, value: list[MappingSpec]) -> list[MappingSpec]:
        names = [m.destination for m in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"destination fields mapped twice: {', '.join(twice)}")
        return value


class ActivationCreate(ActivationBase):
    name: str = Field(min_length=1, max_length=200)
    segment_id: str
    destination_id: str


class ActivationUpdate(BaseModel):
    """Fields to change; omitted fields keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    target: TargetSpec | None = None
    identifier: IdentifierSpec | None = None
    mapping: list[MappingSpec] | None = None
    schedule: dict[str, Any] | None = None
    settings: ActivationSettings | None = None
    enabled: bool | None = None


class MappingSuggestionOut(BaseModel):
    """Pre-filled identifier and mapping for a new activation (matched by standard meaning)."""

    identifier: IdentifierSpec | None = Field(
        description="A model field whose meaning the destination accepts as identifier; null when none."
    )
    mapping: list[MappingSpec]


class RunSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    state: str
    trigger: str
    full_refresh: bool
    dry_run: bool
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None


class RunOut(RunSummary):
    activation_id: str
    requested_by: str | None
    stage: str | None
    worker: str | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    timings: dict[str, Any]
    warnings: list[Any]
    error_kind: str | None
    has_outcomes: bool = False


class ActivationOut(ActivationBase):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    segment_id: str
    destination_id: str
    paused_reason: str | None
    snapshot_rows: int
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime
    last_run: RunSummary | None = None


class RunRequestIn(BaseModel):
    full_refresh: bool = False
    dry_run: bool = False


class OutcomeOut(BaseModel):
    key: str | None
    identifier: str | None
    operation: str | None
    status: str
    message: str | None
