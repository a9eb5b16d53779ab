"""Scheduled identity runs: the time-based schedule kinds of activations, due times claimed once.

A graph's ``schedule`` is ``manual`` or one of the time-based kinds (interval, cron, daily,
weekly). Its next due time lives on the graph (``next_run_at``) and is claimed like a remote
segment's refresh: ``UPDATE … WHERE next_run_at = <value read>``, so of several schedulers exactly
one queues the run, and ticks missed while no scheduler ran give one run, not many. A due time
that finds the graph already queued or running is dropped (that run will see the same data).
:func:`sluice.identity.jobs.claim_due_graphs` claims due times at every scheduler tick (with
:func:`sluice.jobs.due_times.claim_due_time`, shared with remote segments); the queued
run is executed there too and records its own failure message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.core.errors import InvalidInput
from sluice.jobs.scheduler import validate_schedule
from sluice.schemas.schedules import TIMED_KINDS


def check_schedule(session: Session, workspace_id: str, value: dict[str, Any] | None) -> dict[str, Any]:
    """A graph schedule, normalised: manual or time-based (identity runs wait for no other job)."""
    schedule = validate_schedule(session, workspace_id, value)
    if schedule.get("kind") not in {"manual", *TIMED_KINDS}:
        raise InvalidInput("an identity graph's schedule is manual, interval, cron, daily or weekly")
    return schedule
