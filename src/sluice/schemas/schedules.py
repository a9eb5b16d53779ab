"""When an activation runs: the schedule kinds, validated as one discriminated union.

``Schedule`` is what ``Activation.schedule`` holds (JSON with a ``kind``)::

    {"kind": "manual"}
    {"kind": "interval", "minutes": 15}            # or {"hours": 6}
    {"kind": "cron", "expression": "0 6 * * 1-5", "timezone": "Europe/Stockholm"}
    {"kind": "daily", "at": "06:30", "timezone": "America/New_York"}
    {"kind": "weekly", "days": ["mon", "thu"], "at": "08:00", "timezone": "UTC"}
    {"kind": "after", "activation_id": "01J…"}      # after that activation succeeds

Time-based schedules answer :meth:`next_run_after`: the first due time strictly after a moment.
Intervals are aligned to the clock (every 15 minutes fires at :00, :15, :30, :45 UTC), so every
scheduler process computes the same due times. ``interval`` in *seconds* exists only for tests:
it validates only when the validation context says ``{"allow_seconds": True}`` (the scheduler
passes the ``SLUICE_SCHEDULE_SECONDS_ALLOWED`` setting), never through the API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CRON_DAY = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _ScheduleBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def next_run_after(self, moment: datetime) -> datetime | None:
        """The first due time strictly after ``moment`` (UTC), or None for event-driven kinds."""
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}' (use an IANA name such as Europe/Paris)") from None


class _ZonedSchedule(_ScheduleBase):
    timezone: str = Field(default="UTC", description="IANA time zone the times are read in.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _zone(value)
        return value

    def cron_expression(self) -> str:  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    def next_run_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(_zone(self.timezone))
        following: datetime = croniter(self.cron_expression(), local).get_next(datetime)
        return following.astimezone(UTC)


class ManualSchedule(_ScheduleBase):
    """Runs only when someone starts it (button, API, CLI)."""

    kind: Literal["manual"] = "manual"


class IntervalSchedule(_ScheduleBase):
    """Every N minutes or hours, aligned to the clock."""

    kind: Literal["interval"] = "interval"
    minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    hours: int | None = Field(default=None, ge=1, le=7 * 24)
    seconds: int | None = Field(
        default=None, ge=1, description="Tests only (SLUICE_SCHEDULE_SECONDS_ALLOWED)."
    )

    @model_validator(mode="after")
    def _one_unit(self, info: ValidationInfo) -> IntervalSchedule:
        given = [name for name in ("minutes", "hours", "seconds") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of minutes or hours")
        if self.seconds is not None and not (info.context or {}).get("allow_seconds"):
            raise ValueError("intervals are given in minutes or hours")
        return self

    @property
    def period(self) -> timedelta:
        """The length of one interval."""
        return timedelta(hours=self.hours or 0, minutes=self.minutes or 0, seconds=self.seconds or 0)

    def next_run_after(self, moment: datetime) -> datetime | None:
        step = int(self.period.total_seconds())
        epoch_seconds = int(moment.timestamp())
        return datetime.fromtimestamp((epoch_seconds // step + 1) * step, UTC)


class CronSchedule(_ZonedSchedule):
    """A cron expression (five fields) read in a time zone."""

    kind: Literal["cron"] = "cron"
    expression: str = Field(description="Five-field cron expression, e.g. '0 6 * * 1-5'.")

    @field_validator("expression")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value.split(" ")) != 5 or not croniter.is_valid(value):
            raise ValueError(f"'{value}' is not a five-field cron expression (minute hour day month weekday)")
        return value

    def cron_expression(self) -> str:
        return self.expression


class _TimeOfDay(_ZonedSchedule):
    at: str = Field(description="Time of day, HH:MM (24 h).")

    @field_validator("at")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        if not _TIME_OF_DAY.match(value):
            raise ValueError(f"'{value}' is not a time of day as HH:MM (24 h)")
        return value

    def _hour_minute(self) -> tuple[int, int]:
        hour, minute = self.at.split(":")
        return int(hour), int(minute)


class DailySchedule(_TimeOfDay):
    """Once a day at a time."""

    kind: Literal["daily"] = "daily"

    def cron_expression(self) -> str:
        hour, minute = self._hour_minute()
        return f"{minute} {hour} * * *"


class WeeklySchedule(_TimeOfDay):
    """On some days of the week at a time."""

    kind: Literal["weekly"] = "weekly"
    days: list[Weekday] = Field(min_length=1, description="Days of the week: mon … sun.")

    def cron_expression(self) -> str:
        hour, minute = self._hour_minute()
        days = ",".join(str(_CRON_DAY[day]) for day in sorted(set(self.days), key=_CRON_DAY.__getitem__))
        return f"{minute} {hour} * * {days}"


class AfterSchedule(_ScheduleBase):
    """Runs each time another activation (or a remote segment refresh) finishes successfully."""

    kind: Literal["after"] = "after"
    activation_id: str | None = None
    remote_segment_id: str | None = None

    @model_validator(mode="after")
    def _one_upstream(self) -> AfterSchedule:
        if (self.activation_id is None) == (self.remote_segment_id is None):
            raise ValueError("give exactly one of activation_id or remote_segment_id")
        return self


Schedule = Annotated[
    ManualSchedule | IntervalSchedule | CronSchedule | DailySchedule | WeeklySchedule | AfterSchedule,
    Field(discriminator="kind"),
]
"""Any schedule; validate with :func:`parse_schedule` or ``TypeAdapter(Schedule)``."""

SCHEDULE_ADAPTER: TypeAdapter[Schedule] = TypeAdapter(Schedule)

TIMED_KINDS = frozenset({"interval", "cron", "daily", "weekly"})


def parse_schedule(value: dict[str, Any] | None, *, allow_seconds: bool = False) -> Schedule:
    """Validate a stored or submitted schedule (an empty one means manual)."""
    return SCHEDULE_ADAPTER.validate_python(
        value or {"kind": "manual"}, context={"allow_seconds": allow_seconds}
    )
