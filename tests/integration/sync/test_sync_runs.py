"""The run state machine in the control DB (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.activations import Activation, Run
from sluice.sync.runs import (
    RunAlreadyActive,
    RunRequest,
    RunState,
    cancel_run,
    claim_run,
    fail_stale_runs,
    finish_run,
    heartbeat,
    request_run,
)


def make_activation(database: Database, name: str = "vip to mailchimp") -> Activation:
    with database.session() as session:
        workspace = ensure_default_workspace(session)
        activation = Activation(
            workspace_id=workspace.id, name=name, segment_id="seg", destination_id="dst", service="membership"
        )
        session.add(activation)
        session.flush()
        session.expunge(activation)
        return activation


def test_second_request_while_active_is_refused(database: Database) -> None:
    activation = make_activation(database)
    with database.session() as session:
        first = request_run(session, activation)
        with pytest.raises(RunAlreadyActive) as refused:
            request_run(session, activation)
        assert refused.value.run_id == first.id
        assert "already has a queued run" in str(refused.value)


def test_concurrent_requests_start_exactly_one_run(database: Database) -> None:
    activation = make_activation(database)

    def attempt(_: int) -> str:
        with database.session() as session:
            try:
                return request_run(session, activation).id
            except RunAlreadyActive:
                return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(16)))
    assert len([r for r in results if r != "refused"]) == 1
    with database.session() as session:
        assert session.query(Run).count() == 1


def test_claim_is_exclusive_and_finish_frees_the_activation(database: Database) -> None:
    activation = make_activation(database)
    with database.session() as session:
        run = request_run(session, activation)
        assert claim_run(session, run.id, "worker-a")
        assert not claim_run(session, run.id, "worker-b")
        assert finish_run(session, run.id, RunState.SUCCEEDED)
        # A final run can not be finished twice (e.g. by the reconciler after the worker).
        assert not finish_run(session, run.id, RunState.FAILED)
        session.expire_all()
        stored = session.get(Run, run.id)
        assert stored is not None
        assert (stored.state, stored.worker) == ("succeeded", "worker-a")
        # The activation can run again.
        assert request_run(session, activation, RunRequest(full_refresh=True)).full_refresh


def test_cancel_queued_now_and_running_at_next_checkpoint(database: Database) -> None:
    activation = make_activation(database)
    with database.session() as session:
        queued = request_run(session, activation)
        assert cancel_run(session, queued.id) == "cancelled"
        assert not claim_run(session, queued.id, "worker")
        running = request_run(session, activation)
        assert claim_run(session, running.id, "worker")
        assert not heartbeat(session, running.id, stage="extract")
        assert cancel_run(session, running.id) == "running"
        assert heartbeat(session, running.id, stage="load")


def test_reconciler_fails_runs_whose_worker_died(database: Database) -> None:
    activation = make_activation(database)
    with database.session() as session:
        run = request_run(session, activation)
        claim_run(session, run.id, "worker")
        assert fail_stale_runs(session, stale_after=timedelta(minutes=5)) == []
        later = utcnow() + timedelta(minutes=6)
        assert fail_stale_runs(session, stale_after=timedelta(minutes=5), now=later) == [run.id]
        session.expire_all()
        stored = session.get(Run, run.id)
        assert stored is not None
        assert stored.state == "failed"
        assert stored.error_kind == "worker_lost"
        assert "stopped responding" in (stored.error or "")
        # The schedule can continue: a new run is accepted.
        request_run(session, activation)
