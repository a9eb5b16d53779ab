"""Event times for the events service: read the time a row carries, and refuse what the vendor's
window no longer accepts before it is sent (conversion APIs reject a whole request for one stale
event). Connectors call these from ``invalid_reason`` and when formatting the vendor's time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.destinations.sdk import Op

#: the mapped field holding an event's time
EVENT_TIME_FIELD = "time"


class BadEventTime(ValueError):
    """The value is not a time an event can carry."""


def event_time(value: Any) -> datetime:
    """A timezone-aware UTC datetime from what a model row holds: a ``datetime`` (naive is UTC),
    a ``date`` (midnight UTC), an ISO-8601 string, or Unix seconds (milliseconds when > 1e11)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    if isinstance(value, bool):
        raise BadEventTime(f"{value!r} is not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return event_time(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            raise BadEventTime(f"{text!r} is not an ISO-8601 time") from None
    raise BadEventTime(f"{value!r} is not a time")


def stale_reason(moment: datetime, max_age: float | None, now: float, vendor: str) -> str | None:
    """Why an event at ``moment`` must not be sent at Unix time ``now`` (too old, or in the future
    by more than a minute of clock skew), or None."""
    age = now - moment.timestamp()
    if max_age is not None and age > max_age:
        return (
            f"event time {moment.isoformat()} is older than {vendor}'s window of {_span(max_age)} "
            f"({_span(age)} old)"
        )
    if age < -60:
        return f"event time {moment.isoformat()} is in the future ({_span(-age)} ahead)"
    return None


def _span(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def event_time_reason(op: Op, max_age: float | None, now: float, vendor: str) -> str | None:
    """Why an event op must not be sent: its mapped ``time`` is missing or unreadable, or outside
    the vendor's window (:func:`stale_reason`); None when it may go."""
    try:
        moment = event_time(op.fields.get(EVENT_TIME_FIELD))
    except BadEventTime as exc:
        return str(exc)
    return stale_reason(moment, max_age, now, vendor)
