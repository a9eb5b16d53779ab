"""API schemas of alert channels and of activation pause/resume and schedule state."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from sluice.jobs.alerts import AlertKind, ChannelKind

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ALL_EVENTS = [AlertKind.FAILURE, AlertKind.PAUSE, AlertKind.RESUME, AlertKind.WARNING]


def _valid_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _valid_recipients(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    bad = [address for address in value if not _EMAIL.match(address)]
    if bad:
        raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
    return value


class AlertChannelCreate(BaseModel):
    """A new channel. ``url`` for webhook and Slack (kept encrypted, never returned); ``recipients`` for e-mail."""

    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    url: SecretStr | None = Field(default=None, description="Webhook or Slack incoming-webhook URL.")
    recipients: list[str] = Field(default_factory=list, description="E-mail addresses.")
    events: list[AlertKind] = Field(default_factory=lambda: list(ALL_EVENTS), min_length=1)
    enabled: bool = True

    _url = field_validator("url")(_valid_url)
    _recipients = field_validator("recipients")(_valid_recipients)


class AlertChannelUpdate(BaseModel):
    """Fields to change; omitted fields keep their value (an omitted ``url`` keeps the stored one)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: SecretStr | None = None
    recipients: list[str] | None = None
    events: list[AlertKind] | None = Field(default=None, min_length=1)
    enabled: bool | None = None

    _url = field_validator("url")(_valid_url)
    _recipients = field_validator("recipients")(_valid_recipients)


class AlertChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    recipients: list[str]
    events: list[str]
    enabled: bool
    url_set: bool = Field(description="Whether a URL is stored (it is never returned).")
    last_error: str | None
    last_sent_at: datetime | None
    created_at: datetime


class AlertTestOut(BaseModel):
    delivered: bool
    error: str | None = None


class PauseIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500, description="Why (kept in the pause history).")


class PauseEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    action: str
    automatic: bool
    reason: str
    actor: str
    run_id: str | None
    created_at: datetime


class ActivationScheduleOut(BaseModel):
    """Where an activation stands: schedule, next due times, pause state and probes, last warnings."""

    activation_id: str
    schedule: dict[str, Any]
    enabled: bool
    next_run_at: datetime | None
    upcoming: list[datetime] = Field(description="The next few due times (empty for manual and 'after').")
    last_scheduled_at: datetime | None
    paused: bool
    paused_reason: str | None
    automatic_pause: bool
    next_probe_at: datetime | None
    probe_attempts: int
    last_probe_message: str | None
    consecutive_failures: int
    last_run_warnings: list[dict[str, Any]]
    recent_pauses: list[PauseEventOut]
