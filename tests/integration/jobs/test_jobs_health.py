"""Automatic pause and resume: failure counting, fatal errors, probes, history, settle once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sluice.jobs.alerts import AlertKind
from sluice.jobs.health import HealthPolicy, after_run, pause, pause_history, resume
from sluice.jobs.probes import ProbeResult, run_probes
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.jobs import ScheduleState
from sluice.sync.runs import RunRequest, RunState, claim_run, finish_run, request_run

IMMEDIATE = HealthPolicy(pause_after_failures=3, probe_backoff=timedelta(0))


def make_activation(database: Database, name: str = "vip") -> str:
    with database.session() as session:
        workspace = ensure_default_workspace(session)
        activation = Activation(
            workspace_id=workspace.id, name=name, segment_id="s", destination_id="d", service="membership"
        )
        session.add(activation)
        session.flush()
        return activation.id


def finished_run(
    database: Database,
    activation_id: str,
    state: RunState,
    *,
    error: str | None = None,
    kind: str | None = None,
    warnings: list[dict[str, object]] | None = None,
) -> str:
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        run = request_run(session, activation, RunRequest())
        session.flush()
        claim_run(session, run.id, "test")
        if warnings:
            run.warnings = warnings
        finish_run(session, run.id, state, error=error, error_kind=kind)
        return run.id


def settle(database: Database, run_id: str) -> list[AlertKind]:
    with database.session() as session:
        return [event.kind for event in after_run(session, run_id, IMMEDIATE).events]


def activation(database: Database, activation_id: str) -> Activation:
    with database.session() as session:
        found = session.get(Activation, activation_id)
        assert found is not None
        return found


def test_three_failures_in_a_row_pause_with_the_reason(database: Database) -> None:
    activation_id = make_activation(database)
    kinds = []
    for _ in range(3):
        run_id = finished_run(database, activation_id, RunState.FAILED, error="Mailchimp answered 503")
        kinds.append(settle(database, run_id))
    assert kinds == [[AlertKind.FAILURE], [AlertKind.FAILURE], [AlertKind.FAILURE, AlertKind.PAUSE]]
    paused = activation(database, activation_id)
    assert paused.consecutive_failures == 3
    assert paused.paused_reason == (
        "paused after 3 consecutive failed runs; the last one: Mailchimp answered 503"
    )
    with database.session() as session:
        history = pause_history(session, activation_id)
        assert [(e.action, e.automatic, e.run_id) for e in history] == [("pause", True, run_id)]


def test_a_success_resets_the_count(database: Database) -> None:
    activation_id = make_activation(database)
    for state in (RunState.FAILED, RunState.FAILED, RunState.SUCCEEDED, RunState.FAILED, RunState.FAILED):
        settle(database, finished_run(database, activation_id, state, error="x"))
    assert activation(database, activation_id).consecutive_failures == 2
    assert activation(database, activation_id).paused_reason is None


def test_fatal_error_pauses_at_once(database: Database) -> None:
    activation_id = make_activation(database)
    run_id = finished_run(
        database, activation_id, RunState.FAILED, error="Mailchimp refused the API key (401)", kind="config"
    )
    assert settle(database, run_id) == [AlertKind.FAILURE, AlertKind.PAUSE]
    assert activation(database, activation_id).paused_reason == (
        "paused after a fatal error: Mailchimp refused the API key (401)"
    )


def test_a_run_is_settled_once(database: Database) -> None:
    activation_id = make_activation(database)
    run_id = finished_run(database, activation_id, RunState.FAILED, error="x")
    assert settle(database, run_id) == [AlertKind.FAILURE]
    assert settle(database, run_id) == []
    assert activation(database, activation_id).consecutive_failures == 1


def test_warnings_raise_a_warning_alert(database: Database) -> None:
    activation_id = make_activation(database)
    warning = {"kind": "reject_rate", "message": "the destination rejected 40 of 100 rows (40%, above 5%)"}
    run_id = finished_run(database, activation_id, RunState.PARTIAL, warnings=[warning])
    with database.session() as session:
        events = after_run(session, run_id, IMMEDIATE).events
    assert [e.kind for e in events] == [AlertKind.WARNING]
    assert events[0].message == "the run finished partial with 1 warning"
    assert events[0].warnings == [warning]


def test_probe_resumes_only_when_healthy_and_queues_a_run(database: Database) -> None:
    activation_id = make_activation(database)
    settle(database, finished_run(database, activation_id, RunState.FAILED, error="401", kind="config"))
    answers = iter(
        [ProbeResult(False, "Mailchimp refused the API key"), ProbeResult(True, "connected as Acme")]
    )
    calls: list[str] = []

    def probe(_: Database, probed: str) -> ProbeResult:
        calls.append(probed)
        return next(answers)

    first = run_probes(database, IMMEDIATE, probe)
    assert first.events == []
    assert first.run_ids == []
    with database.session() as session:
        state = session.get(ScheduleState, activation_id)
        assert state is not None
        assert state.last_probe_message == "Mailchimp refused the API key"
        assert state.probe_attempts == 1
    second = run_probes(database, IMMEDIATE, probe)
    assert [e.kind for e in second.events] == [AlertKind.RESUME]
    assert calls == [activation_id, activation_id]
    resumed = activation(database, activation_id)
    assert resumed.paused_reason is None
    assert resumed.consecutive_failures == 0
    with database.session() as session:
        run = session.get(Run, second.run_ids[0])
        assert run is not None
        assert run.trigger == "probe"
        history = [(e.action, e.automatic, e.reason) for e in reversed(pause_history(session, activation_id))]
    assert history[1] == ("resume", True, "resumed automatically: connected as Acme")


def test_probes_back_off(database: Database) -> None:
    policy = HealthPolicy(probe_backoff=timedelta(minutes=1), probe_backoff_max=timedelta(minutes=5))
    assert [policy.probe_delay(n).total_seconds() / 60 for n in range(5)] == [1, 2, 4, 5, 5]
    activation_id = make_activation(database)
    run_id = finished_run(database, activation_id, RunState.FAILED, error="401", kind="config")
    with database.session() as session:
        after_run(session, run_id, policy)
    # the first probe waits for the back-off: nothing is due yet
    assert run_probes(database, policy, lambda _d, _a: ProbeResult(True, "ok")).events == []


def test_manual_pause_is_never_probed(database: Database) -> None:
    activation_id = make_activation(database)
    with database.session() as session:
        found = session.get(Activation, activation_id)
        assert found is not None
        pause(session, found, "paused by ada@example.com: holiday freeze", automatic=False, actor="ada")
    assert run_probes(database, IMMEDIATE, lambda _d, _a: ProbeResult(True, "ok")).events == []
    with database.session() as session:
        assert session.scalars(select(ScheduleState.next_probe_at)).all() == [None]


def test_probe_back_off_keeps_growing_while_resumes_do_not_hold(database: Database) -> None:
    """A probe that passes while runs still fail (e.g. a deleted target) must not loop every minute."""
    policy = HealthPolicy(probe_backoff=timedelta(minutes=1), probe_backoff_max=timedelta(hours=1))
    activation_id = make_activation(database)
    with database.session() as session:
        found = session.get(Activation, activation_id)
        assert found is not None
        pause(session, found, "paused after a fatal error: target deleted", automatic=True, policy=policy)
        state = session.get(ScheduleState, activation_id)
        assert state is not None
        state.probe_attempts = 3  # three probes so far; the last one passed and resumed it
        resume(session, found, "resumed automatically: connected", automatic=True)
    run_id = finished_run(database, activation_id, RunState.FAILED, error="target deleted", kind="config")
    before = utcnow()
    with database.session() as session:
        after_run(session, run_id, policy)
        state = session.get(ScheduleState, activation_id)
        assert state is not None
        assert state.next_probe_at is not None
        assert state.next_probe_at - before >= timedelta(minutes=8)
    good = finished_run(database, activation_id, RunState.SUCCEEDED)
    with database.session() as session:
        activation_row = session.get(Activation, activation_id)
        assert activation_row is not None
        resume(session, activation_row, "by hand", automatic=False)
    with database.session() as session:
        after_run(session, good, policy)
        state = session.get(ScheduleState, activation_id)
        assert state is not None
        assert state.probe_attempts == 0
