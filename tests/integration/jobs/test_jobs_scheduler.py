"""The scheduler tick on SQLite and PostgreSQL: due runs queued exactly once, missed ticks once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sluice.core.errors import InvalidInput
from sluice.jobs.dispatch import runs_to_dispatch
from sluice.jobs.scheduler import claim_due_runs, trigger_dependants, validate_schedule
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.jobs import RunDispatch, ScheduleState
from sluice.sync.runs import RunRequest, RunState, claim_run, finish_run, request_run


def make_activation(database: Database, name: str, schedule: dict[str, Any], **extra: Any) -> str:
    with database.session() as session:
        workspace = ensure_default_workspace(session)
        activation = Activation(
            workspace_id=workspace.id,
            name=name,
            segment_id="seg",
            destination_id="dst",
            service="membership",
            schedule=schedule,
            **extra,
        )
        session.add(activation)
        session.flush()
        return activation.id


def runs_of(database: Database, activation_id: str) -> list[Run]:
    with database.session() as session:
        return list(session.scalars(select(Run).where(Run.activation_id == activation_id).order_by(Run.id)))


def finish_all(database: Database) -> None:
    with database.session() as session:
        for run_id in session.scalars(select(Run.id).where(Run.state == RunState.QUEUED)).all():
            claim_run(session, run_id, "test")
            finish_run(session, run_id, RunState.SUCCEEDED)


def test_new_schedule_waits_for_its_first_due_time(database: Database) -> None:
    activation_id = make_activation(database, "hourly", {"kind": "interval", "hours": 1})
    now = utcnow()
    with database.session() as session:
        assert claim_due_runs(session, now=now) == []
        state = session.get(ScheduleState, activation_id)
        assert state is not None
        assert state.next_run_at is not None
        assert now < state.next_run_at <= now + timedelta(hours=1)
    assert runs_of(database, activation_id) == []


def test_due_run_is_queued_once_and_missed_ticks_run_once(database: Database) -> None:
    activation_id = make_activation(database, "every 5", {"kind": "interval", "minutes": 5})
    start = utcnow()
    with database.session() as session:
        claim_due_runs(session, now=start)
    # the scheduler was down for an hour: twelve due times passed, one run is queued
    later = start + timedelta(hours=1)
    with database.session() as session:
        queued = claim_due_runs(session, now=later)
    with database.session() as session:
        assert claim_due_runs(session, now=later) == []
        state = session.get(ScheduleState, activation_id)
        assert state is not None
        assert state.next_run_at is not None
        assert state.next_run_at > later
        dispatch = session.get(RunDispatch, queued[0])
        assert dispatch is not None
        assert dispatch.scheduled_for is not None
    assert [run.id for run in runs_of(database, activation_id)] == queued
    assert runs_of(database, activation_id)[0].trigger == "schedule"


def test_many_schedulers_at_once_queue_each_due_run_exactly_once(database: Database) -> None:
    ids = [make_activation(database, f"act {n}", {"kind": "interval", "minutes": 1}) for n in range(5)]
    start = utcnow()
    with database.session() as session:
        claim_due_runs(session, now=start)

    def tick(offset_minutes: int) -> list[str]:
        with database.session() as session:
            return claim_due_runs(session, now=start + timedelta(minutes=offset_minutes, seconds=1))

    for minute in (1, 2, 3):
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = [run_id for batch in pool.map(tick, [minute] * 4) for run_id in batch]
        assert len(results) == len(set(results)) == len(ids)
        finish_all(database)
    for activation_id in ids:
        runs = runs_of(database, activation_id)
        assert len(runs) == 3
        with database.session() as session:
            slots = session.scalars(
                select(RunDispatch.scheduled_for).where(RunDispatch.run_id.in_([r.id for r in runs]))
            ).all()
        assert len(set(slots)) == 3


def test_paused_disabled_and_manual_activations_are_not_scheduled(database: Database) -> None:
    start = utcnow()
    paused = make_activation(database, "paused", {"kind": "interval", "minutes": 1}, paused_reason="by hand")
    disabled = make_activation(database, "disabled", {"kind": "interval", "minutes": 1}, enabled=False)
    manual = make_activation(database, "manual", {"kind": "manual"})
    for offset in (0, 5):
        with database.session() as session:
            assert claim_due_runs(session, now=start + timedelta(minutes=offset)) == []
    for activation_id in (paused, disabled, manual):
        assert runs_of(database, activation_id) == []


def test_tick_while_previous_run_is_active_is_skipped(database: Database) -> None:
    activation_id = make_activation(database, "slow", {"kind": "interval", "minutes": 1})
    start = utcnow()
    with database.session() as session:
        claim_due_runs(session, now=start)
    with database.session() as session:
        first = claim_due_runs(session, now=start + timedelta(minutes=1, seconds=1))
    with database.session() as session:
        assert claim_due_runs(session, now=start + timedelta(minutes=2, seconds=1)) == []
    assert [run.id for run in runs_of(database, activation_id)] == first


def test_edited_schedule_is_recomputed(database: Database) -> None:
    activation_id = make_activation(database, "edited", {"kind": "interval", "hours": 6})
    now = utcnow()
    with database.session() as session:
        claim_due_runs(session, now=now)
        activation = session.get(Activation, activation_id)
        assert activation is not None
        activation.schedule = {"kind": "interval", "minutes": 1}
    with database.session() as session:
        claim_due_runs(session, now=now)
        state = session.get(ScheduleState, activation_id)
        assert state is not None
        assert state.next_run_at is not None
        assert state.next_run_at <= now + timedelta(minutes=1)


def test_after_schedule_runs_when_upstream_succeeds(database: Database) -> None:
    upstream = make_activation(database, "upstream", {"kind": "manual"})
    downstream = make_activation(database, "downstream", {"kind": "after", "activation_id": upstream})
    with database.session() as session:
        activation = session.get(Activation, upstream)
        assert activation is not None
        failed = request_run(session, activation, RunRequest())
        claim_run(session, failed.id, "w")
        finish_run(session, failed.id, RunState.FAILED, error="boom")
        session.refresh(failed)
        assert trigger_dependants(session, failed) == []
        good = request_run(session, activation, RunRequest())
        claim_run(session, good.id, "w")
        finish_run(session, good.id, RunState.SUCCEEDED)
        session.refresh(good)
        queued = trigger_dependants(session, good)
    runs = runs_of(database, downstream)
    assert [run.id for run in runs] == queued
    assert runs[0].trigger == "dependency"


def test_queued_runs_are_handed_over_once_and_again_when_lost(database: Database) -> None:
    activation_id = make_activation(database, "api run", {"kind": "manual"})
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        run_id = request_run(session, activation).id
    now = utcnow()
    with database.session() as session:
        assert runs_to_dispatch(session, requeue_after=timedelta(minutes=10), now=now) == [run_id]
    with database.session() as session:
        assert runs_to_dispatch(session, requeue_after=timedelta(minutes=10), now=now) == []
    later = now + timedelta(minutes=11)
    with database.session() as session:
        assert runs_to_dispatch(session, requeue_after=timedelta(minutes=10), now=later) == [run_id]
        attempts = session.scalar(select(func.max(RunDispatch.attempts)))
    assert attempts == 2


def test_validate_schedule_checks_the_upstream_and_cycles(database: Database) -> None:
    first = make_activation(database, "first", {"kind": "manual"})
    second = make_activation(database, "second", {"kind": "after", "activation_id": first})
    with database.session() as session:
        workspace_id = ensure_default_workspace(session).id
        assert validate_schedule(session, workspace_id, {"kind": "interval", "minutes": 30}) == {
            "kind": "interval",
            "minutes": 30,
        }
        with pytest.raises(
            InvalidInput, match="invalid schedule: minutes: Input should be greater than or equal to 1"
        ):
            validate_schedule(session, workspace_id, {"kind": "interval", "minutes": 0})
        with pytest.raises(InvalidInput, match="which does not exist in this workspace"):
            validate_schedule(session, workspace_id, {"kind": "after", "activation_id": "01NOPE"})
        with pytest.raises(InvalidInput, match="would wait for itself"):
            validate_schedule(
                session, workspace_id, {"kind": "after", "activation_id": second}, activation_id=first
            )
