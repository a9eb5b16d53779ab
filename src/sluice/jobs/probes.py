"""Probes of automatically paused activations: is the cause of the pause gone?

A probe answers for one activation, outside any transaction (it talks to the destination). The
default probe tests the destination connection (the connector's ``check()`` through
:func:`sluice.destinations.service.check`) and then that the segment's model still matches its
source for the fields the activation sends (:func:`sluice.models.drift.check_model_schema`); a probe that
succeeds resumes the activation and queues a run so the destination converges. Probes run on a
back-off (first wait ``SLUICE_PROBE_BACKOFF_SECONDS``, doubling up to the maximum); each probe
time is claimed by a conditional UPDATE, so one process probes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sluice.core.errors import SluiceError
from sluice.core.logging import get_logger
from sluice.destinations.service import check as check_destination
from sluice.jobs.alerts import AlertEvent
from sluice.jobs.health import HealthPolicy, resume
from sluice.jobs.scheduler import queue_run
from sluice.models.drift import check_model_schema
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.tables.activations import Activation
from sluice.store.tables.destinations import Destination
from sluice.store.tables.jobs import ScheduleState
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment
from sluice.store.tables.sources import Source
from sluice.sync.runs import RunTrigger
from sluice.warehouse.sources import open_source

log = get_logger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    """Whether the activation can run again, and a sentence saying why (shown in its history)."""

    healthy: bool
    message: str


# (database, activation id) → result; never raises for an unhealthy target, returns healthy=False.
Probe = Callable[[Database, str], ProbeResult]


def destination_probe(database: Database, activation_id: str) -> ProbeResult:
    """Test the activation's destination connection with the connector's ``check()``."""
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        destination = session.get(Destination, activation.destination_id) if activation else None
        if activation is None or destination is None or destination.workspace_id != activation.workspace_id:
            return ProbeResult(False, "the activation's destination no longer exists")
        session.expunge(destination)
    try:
        report = check_destination(destination, database.secrets, database=database)
    except SluiceError as exc:
        return ProbeResult(False, exc.message)
    except Exception as exc:
        log.exception("probe crashed", activation_id=activation_id)
        return ProbeResult(False, f"the connection test failed unexpectedly: {type(exc).__name__}")
    return ProbeResult(report.ok, report.message)


def model_probe(database: Database, activation_id: str) -> ProbeResult:
    """Check that the segment's model still matches its source for the fields the activation sends."""
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        segment = session.get(Segment, activation.segment_id) if activation else None
        model = session.get(Model, segment.model_id) if segment else None
        source = session.get(Source, model.source_id) if model else None
        if activation is None or model is None or source is None:
            return ProbeResult(True, "no model to check")  # a run reports missing references itself
        used = {activation.identifier.get("field")} | {m.get("source") for m in activation.mapping}
        try:
            with open_source(source, database.secrets) as warehouse:
                report = check_model_schema(session, model, warehouse)
        except SluiceError as exc:
            return ProbeResult(False, f"the source of model '{model.name}' can not be used: {exc.message}")
        name = model.name
    broken = [b for b in report.broken if b.field in used]
    if broken:
        details = "; ".join(f"{b.field}: {b.reason}" for b in broken)
        return ProbeResult(False, f"model '{name}' no longer matches its source ({details})")
    return ProbeResult(True, f"model '{name}' matches its source")


def default_probe(database: Database, activation_id: str) -> ProbeResult:
    """The destination connection test, then the model check; healthy when both are."""
    destination = destination_probe(database, activation_id)
    if not destination.healthy:
        return destination
    model = model_probe(database, activation_id)
    if not model.healthy:
        return model
    return ProbeResult(True, f"{destination.message}; {model.message}")


@dataclass
class ProbeOutcome:
    """What probing did: alerts to send and runs to hand to the queue."""

    events: list[AlertEvent]
    run_ids: list[str]


def claim_probes(session: Session, policy: HealthPolicy, *, now: datetime | None = None) -> list[str]:
    """Activations whose probe is due and now claimed by this process (next probe moved on)."""
    now = now or utcnow()
    due = session.execute(
        select(ScheduleState.activation_id, ScheduleState.next_probe_at, ScheduleState.probe_attempts)
        .where(ScheduleState.auto_paused.is_(True), ScheduleState.next_probe_at <= now)
        .order_by(ScheduleState.activation_id)
    ).all()
    claimed: list[str] = []
    for activation_id, probe_at, attempts in due:
        result = session.execute(
            update(ScheduleState)
            .where(ScheduleState.activation_id == activation_id, ScheduleState.next_probe_at == probe_at)
            .values(next_probe_at=now + policy.probe_delay(attempts + 1), probe_attempts=attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            claimed.append(activation_id)
    return claimed


def run_probes(database: Database, policy: HealthPolicy, probe: Probe) -> ProbeOutcome:
    """Probe every due, automatically paused activation; resume those whose cause is gone."""
    with database.session() as session:
        claimed = claim_probes(session, policy)
    outcome = ProbeOutcome([], [])
    for activation_id in claimed:
        result = probe(database, activation_id)
        log.info("probe", activation_id=activation_id, healthy=result.healthy, message=result.message)
        with database.session() as session:
            activation = session.get(Activation, activation_id)
            state = session.get(ScheduleState, activation_id)
            if (
                activation is None
                or state is None
                or not state.auto_paused
                or activation.paused_reason is None
            ):
                continue  # resumed or paused by hand meanwhile
            state.last_probe_message = result.message
            if not result.healthy:
                continue
            outcome.events.append(
                resume(session, activation, f"resumed automatically: {result.message}", automatic=True)
            )
            run_id = queue_run(session, activation, RunTrigger.PROBE)
            if run_id is not None:
                outcome.run_ids.append(run_id)
    return outcome
