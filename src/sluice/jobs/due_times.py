"""Due times of time-based schedules kept on a row, claimed by exactly one scheduler.

Remote segment refreshes and identity graphs keep their schedule, its signature and the next due
time on their own row. :func:`claim_due_time` is the one place that decides whether a tick queues
their job: a new or edited schedule (its signature changed) only gets its next due time; a due
time that has passed is moved on with ``UPDATE … WHERE <next column> = <value read>``, so of
several schedulers exactly one claims it, and ticks missed during downtime give one job, not many.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from sluice.core.logging import get_logger
from sluice.jobs.scheduler import schedule_signature
from sluice.schemas.schedules import TIMED_KINDS, parse_schedule

log = get_logger(__name__)


@dataclass(frozen=True)
class DueTimeColumns:
    """Where a table keeps a schedule: the mapped class and its three attribute names."""

    model: type[Any]
    schedule: str
    signature: str
    next_at: str


def claim_due_time(
    session: Session, columns: DueTimeColumns, row: Any, *, now: datetime, allow_seconds: bool
) -> bool:
    """True when this process claimed ``row``'s passed due time (so it queues the job now)."""
    value = getattr(row, columns.schedule) or {}
    if value.get("kind") not in TIMED_KINDS:
        return False
    try:
        schedule = parse_schedule(value, allow_seconds=allow_seconds)
    except ValidationError as exc:
        log.warning(
            "schedule is not valid; not scheduled",
            table=columns.model.__tablename__,
            id=row.id,
            error=str(exc),
        )
        return False
    model = columns.model
    stored_signature = getattr(row, columns.signature)
    signature = schedule_signature(value)
    if stored_signature != signature or getattr(row, columns.next_at) is None:
        session.execute(
            update(model)
            .where(model.id == row.id, getattr(model, columns.signature) == stored_signature)
            .values({columns.signature: signature, columns.next_at: schedule.next_run_after(now)})
            .execution_options(synchronize_session=False)
        )
        return False
    due = getattr(row, columns.next_at)
    if due > now:
        return False
    claimed = session.execute(
        update(model)
        .where(model.id == row.id, getattr(model, columns.next_at) == due)
        .values({columns.next_at: schedule.next_run_after(now)})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0))  # 0: another scheduler took this due time
