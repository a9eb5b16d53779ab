"""Automatic pause and resume (BRIEF §4 rule 9), and what else follows a finished run.

:func:`after_run` is applied once to every finished run (whoever gets there first inserts the
``settled_runs`` row): a failed run adds one to the activation's consecutive failures, a
successful or partial run resets them; the activation pauses itself after
``pause_after_failures`` failures in a row (default 3), or at once when the run failed with a
fatal error (``error_kind == "config"``: bad credentials, a deleted target). An automatic pause
is probed on a back-off (:mod:`sluice.jobs.probes`) and resumes when the probe succeeds; a
manual pause waits for a person. Every pause and resume is recorded in
``activation_pause_events`` with its reason. The functions return the alerts to send once the
caller's transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict
from sluice.core.settings import Settings
from sluice.jobs.alerts import AlertEvent, AlertKind
from sluice.store.base import utcnow
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.jobs import PauseEvent, ScheduleState, SettledRun
from sluice.sync.runs import FINAL_STATES, RunState

FATAL_ERROR_KIND = "config"


@dataclass(frozen=True)
class HealthPolicy:
    """When to pause, and how long to wait between probes of a paused activation."""

    pause_after_failures: int = 3
    probe_backoff: timedelta = timedelta(minutes=1)
    probe_backoff_max: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthPolicy:
        return cls(
            pause_after_failures=settings.pause_after_failures,
            probe_backoff=timedelta(seconds=settings.probe_backoff_seconds),
            probe_backoff_max=timedelta(seconds=settings.probe_backoff_max_seconds),
        )

    def probe_delay(self, attempts: int) -> timedelta:
        """Wait before probe number ``attempts + 1``: doubling from the first wait, capped."""
        return min(self.probe_backoff * (1 << min(attempts, 20)), self.probe_backoff_max)


@dataclass
class Settlement:
    """The result of :func:`after_run`: whether this call settled the run, and the alerts to send."""

    settled: bool
    events: list[AlertEvent] = field(default_factory=list)


def after_run(session: Session, run_id: str, policy: HealthPolicy | None = None) -> Settlement:
    """Apply the consequences of a finished run, once across all processes.

    ``settled`` is False when the run is not finished or was settled before; ``events`` are the
    alerts to send once the caller's transaction has committed.
    """
    policy = policy or HealthPolicy()
    run = session.get(Run, run_id)
    if run is None or run.state not in FINAL_STATES:
        return Settlement(False)
    try:
        with session.begin_nested():
            session.add(SettledRun(run_id=run_id))
    except IntegrityError:
        return Settlement(False)  # settled already, by this or another process
    activation = session.get(Activation, run.activation_id)
    if activation is None or run.dry_run:
        return Settlement(True)
    events: list[AlertEvent] = []
    if run.state == RunState.FAILED:
        activation.consecutive_failures = (activation.consecutive_failures or 0) + 1
        events.append(_event(activation, AlertKind.FAILURE, run.error or "the run failed", run))
        if activation.paused_reason is None:
            reason = _automatic_pause_reason(run, activation.consecutive_failures, policy)
            if reason is not None:
                events.append(
                    pause(session, activation, reason, automatic=True, run_id=run.id, policy=policy)
                )
    elif run.state in (RunState.SUCCEEDED, RunState.PARTIAL):
        activation.consecutive_failures = 0
        state = session.get(ScheduleState, activation.id)
        if state is not None:
            state.probe_attempts = 0  # the cause is really gone: a later pause probes quickly again
    if run.warnings:
        count = len(run.warnings)
        message = f"the run finished {run.state} with {count} warning{'s' if count != 1 else ''}"
        events.append(_event(activation, AlertKind.WARNING, message, run, warnings=list(run.warnings)))
    return Settlement(True, events)


def _automatic_pause_reason(run: Run, failures: int, policy: HealthPolicy) -> str | None:
    error = run.error or "the run failed"
    if run.error_kind == FATAL_ERROR_KIND:
        return f"paused after a fatal error: {error}"
    if failures >= policy.pause_after_failures:
        return f"paused after {failures} consecutive failed runs; the last one: {error}"
    return None


def pause(
    session: Session,
    activation: Activation,
    reason: str,
    *,
    automatic: bool,
    actor: str = "system",
    run_id: str | None = None,
    policy: HealthPolicy | None = None,
) -> AlertEvent:
    """Pause ``activation`` with ``reason`` (no scheduled runs until it resumes).

    An automatic pause is probed after the back-off; a manual one is never probed. The back-off
    keeps growing while the activation pauses again right after automatic resumes (a probe that
    passes while runs still fail, e.g. a deleted target), and starts over after a good run.
    """
    if activation.paused_reason is not None:
        raise Conflict(f"activation '{activation.name}' is already paused: {activation.paused_reason}")
    policy = policy or HealthPolicy()
    activation.paused_reason = reason
    state = schedule_state(session, activation.id)
    state.auto_paused = automatic
    state.probe_attempts = state.probe_attempts or 0
    state.last_probe_message = None
    state.next_probe_at = utcnow() + policy.probe_delay(state.probe_attempts) if automatic else None
    session.add(
        PauseEvent(
            workspace_id=activation.workspace_id,
            activation_id=activation.id,
            action="pause",
            automatic=automatic,
            reason=reason,
            actor=actor,
            run_id=run_id,
        )
    )
    return _event(activation, AlertKind.PAUSE, reason, None, run_id=run_id)


def resume(
    session: Session, activation: Activation, reason: str, *, automatic: bool, actor: str = "system"
) -> AlertEvent:
    """Resume a paused activation: failures are forgotten and scheduling continues."""
    if activation.paused_reason is None:
        raise Conflict(f"activation '{activation.name}' is not paused")
    activation.paused_reason = None
    activation.consecutive_failures = 0
    state = schedule_state(session, activation.id)
    state.auto_paused = False
    state.next_probe_at = None
    if not automatic:
        state.probe_attempts = 0
    session.add(
        PauseEvent(
            workspace_id=activation.workspace_id,
            activation_id=activation.id,
            action="resume",
            automatic=automatic,
            reason=reason,
            actor=actor,
        )
    )
    return _event(activation, AlertKind.RESUME, reason, None)


def schedule_state(session: Session, activation_id: str) -> ScheduleState:
    """The scheduler's row of an activation, created when missing."""
    state = session.get(ScheduleState, activation_id)
    if state is None:
        try:
            with session.begin_nested():
                state = ScheduleState(activation_id=activation_id, probe_attempts=0, auto_paused=False)
                session.add(state)
        except IntegrityError:  # created by another process meanwhile
            state = session.scalars(
                select(ScheduleState).where(ScheduleState.activation_id == activation_id)
            ).one()
    return state


def pause_history(session: Session, activation_id: str, limit: int = 50) -> list[PauseEvent]:
    """Pauses and resumes of an activation, newest first."""
    return list(
        session.scalars(
            select(PauseEvent)
            .where(PauseEvent.activation_id == activation_id)
            .order_by(PauseEvent.id.desc())
            .limit(limit)
        )
    )


def _event(
    activation: Activation,
    kind: AlertKind,
    message: str,
    run: Run | None,
    *,
    run_id: str | None = None,
    warnings: list[dict[str, object]] | None = None,
    when: datetime | None = None,
) -> AlertEvent:
    return AlertEvent(
        kind=kind,
        workspace_id=activation.workspace_id,
        activation_id=activation.id,
        activation_name=activation.name,
        message=message,
        run_id=run.id if run is not None else run_id,
        warnings=[dict(w) for w in warnings or []],
        occurred_at=when or utcnow(),
    )
