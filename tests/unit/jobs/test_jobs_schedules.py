"""Schedule kinds: what validates, with which message, and when each kind is next due."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sluice.schemas.schedules import (
    AfterSchedule,
    CronSchedule,
    DailySchedule,
    IntervalSchedule,
    ManualSchedule,
    WeeklySchedule,
    parse_schedule,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_empty_schedule_means_manual() -> None:
    assert isinstance(parse_schedule({}), ManualSchedule)
    assert parse_schedule({"kind": "manual"}).next_run_after(at("2026-01-01T00:00:00")) is None


def test_every_fifteen_minutes_is_aligned_to_the_clock() -> None:
    schedule = parse_schedule({"kind": "interval", "minutes": 15})
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.next_run_after(at("2026-03-01T10:07:12")) == at("2026-03-01T10:15:00")
    # strictly after: a due time is never returned again
    assert schedule.next_run_after(at("2026-03-01T10:15:00")) == at("2026-03-01T10:30:00")


def test_every_six_hours() -> None:
    schedule = parse_schedule({"kind": "interval", "hours": 6})
    assert schedule.next_run_after(at("2026-03-01T13:00:00")) == at("2026-03-01T18:00:00")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"kind": "interval"}, "give exactly one of minutes or hours"),
        ({"kind": "interval", "minutes": 5, "hours": 1}, "give exactly one of minutes or hours"),
        ({"kind": "interval", "minutes": 0}, "greater than or equal to 1"),
        ({"kind": "interval", "seconds": 5}, "intervals are given in minutes or hours"),
        ({"kind": "cron", "expression": "every day"}, "is not a five-field cron expression"),
        ({"kind": "cron", "expression": "0 6 * *"}, "is not a five-field cron expression"),
        ({"kind": "daily", "at": "25:00"}, "is not a time of day as HH:MM"),
        ({"kind": "daily", "at": "06:00", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"kind": "weekly", "at": "06:00", "days": []}, "at least 1 item"),
        ({"kind": "weekly", "at": "06:00", "days": ["funday"]}, "'mon'"),
        ({"kind": "after"}, "give exactly one of activation_id or remote_segment_id"),
        ({"kind": "hourly"}, "does not match any of the expected tags"),
    ],
)
def test_invalid_schedules_say_what_is_wrong(value: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_schedule(value)
    assert message in str(error.value)


def test_seconds_only_with_the_test_setting() -> None:
    schedule = parse_schedule({"kind": "interval", "seconds": 5}, allow_seconds=True)
    assert schedule.next_run_after(at("2026-03-01T10:00:03")) == at("2026-03-01T10:00:05")


def test_cron_is_read_in_its_time_zone() -> None:
    schedule = parse_schedule({"kind": "cron", "expression": "0 6 * * 1-5", "timezone": "Europe/Stockholm"})
    assert isinstance(schedule, CronSchedule)
    # Saturday 2026-03-07 → next weekday is Monday 06:00 Stockholm = 05:00 UTC (CET, UTC+1)
    assert schedule.next_run_after(at("2026-03-07T12:00:00")) == at("2026-03-09T05:00:00")


def test_daily_follows_daylight_saving_time() -> None:
    schedule = parse_schedule({"kind": "daily", "at": "06:30", "timezone": "America/New_York"})
    assert isinstance(schedule, DailySchedule)
    assert schedule.next_run_after(at("2026-03-07T12:00:00")) == at("2026-03-08T10:30:00")  # EDT starts
    assert schedule.next_run_after(at("2026-03-06T12:00:00")) == at("2026-03-07T11:30:00")  # still EST


def test_weekly_on_chosen_days() -> None:
    schedule = parse_schedule({"kind": "weekly", "days": ["thu", "mon"], "at": "08:00"})
    assert isinstance(schedule, WeeklySchedule)
    assert schedule.next_run_after(at("2026-03-03T09:00:00")) == at("2026-03-05T08:00:00")  # Tue → Thu
    assert schedule.next_run_after(at("2026-03-05T08:00:00")) == at("2026-03-09T08:00:00")  # Thu → Mon


def test_after_another_activation_has_no_due_time() -> None:
    schedule = parse_schedule({"kind": "after", "activation_id": "01ABC"})
    assert isinstance(schedule, AfterSchedule)
    assert schedule.next_run_after(at("2026-03-03T09:00:00")) is None
