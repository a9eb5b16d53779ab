"""API schemas of identity graphs, their runs and profile lookups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sluice.identity.spec import IdentitySpec


class IdentityGraphCreate(BaseModel):
    """A new identity graph over models of one source."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    source_id: str
    spec: IdentitySpec
    schedule: dict[str, Any] | None = Field(
        default=None,
        description="When runs are queued: manual (default) or interval, cron, daily, weekly as for activations.",
    )


class IdentityGraphUpdate(BaseModel):
    """Changes to a graph; the next run applies a new spec."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    spec: IdentitySpec | None = None
    schedule: dict[str, Any] | None = Field(
        default=None, description='A new schedule; {"kind": "manual"} stops scheduled runs.'
    )


class IdentityRunOut(BaseModel):
    """One run: state, counts (input rows, profiles, merges, largest cluster), per-rule details, warnings.

    ``state`` is queued, running, succeeded, skipped (inputs unchanged: counts carried over from
    the last run, ``details.skipped`` says which) or failed (``error`` says why).
    """

    model_config = ConfigDict(from_attributes=True)

    id: str
    graph_id: str
    state: str
    trigger: str
    requested_by: str
    started_at: datetime | None
    finished_at: datetime | None
    input_rows: int | None
    profiles: int | None
    merges: int | None
    largest_cluster: int | None
    details: dict[str, Any]
    warnings: list[str]
    error: str | None
    fingerprint: str | None = Field(
        default=None, description="Digest of the spec and the input rows the run saw."
    )


class IdentityGraphOut(BaseModel):
    """A graph; ``model_id`` is the users model over its golden profiles (after the first run)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    slug: str
    description: str
    source_id: str
    spec: IdentitySpec
    schema_name: str
    model_id: str | None
    schedule: dict[str, Any] | None = None
    next_run_at: datetime | None = Field(default=None, description="When the scheduler queues the next run.")
    created_at: datetime
    updated_at: datetime


class ProfileRecordOut(BaseModel):
    """A source record merged into a profile, and the rules and values that linked it."""

    record_key: str
    model: str
    source_key: str
    seen_at: datetime | None
    matched_by: list[dict[str, str]]


class ProfileOut(BaseModel):
    """A golden profile and the records it merges (with why)."""

    profile_id: str
    golden: dict[str, Any]
    records: list[ProfileRecordOut]


class ProfileLookupOut(BaseModel):
    """Profiles found for a lookup (by profile id, record key, or identifier value)."""

    profiles: list[ProfileOut]
