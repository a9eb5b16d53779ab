"""An activation's schedule state, and pausing or resuming it by hand (with the pause history)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import select

from sluice.api.deps import DbSession, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.settings import Settings
from sluice.jobs.alerts import queue_alert
from sluice.jobs.health import pause, pause_history, resume
from sluice.schemas.alerts import ActivationScheduleOut, PauseEventOut, PauseIn
from sluice.schemas.schedules import parse_schedule
from sluice.store.base import utcnow
from sluice.store.scoped import get_scoped
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.jobs import PauseEvent, ScheduleState

router = APIRouter(prefix="/activations", tags=["schedules"])
Reader = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_READ))]
Runner = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_RUN))]
UPCOMING = 3


@router.get("/{activation_id}/schedule", response_model=ActivationScheduleOut)
def schedule_state(
    activation_id: str, request: Request, session: DbSession, principal: Reader
) -> ActivationScheduleOut:
    """Next due times, pause state with its reason, probes, and the last run's warnings."""
    activation = _activation(session, principal, activation_id)
    return _describe(session, activation, request.app.state.settings)


@router.post("/{activation_id}/pause", response_model=ActivationScheduleOut)
def pause_activation(
    activation_id: str,
    body: PauseIn,
    request: Request,
    session: DbSession,
    principal: Runner,
) -> ActivationScheduleOut:
    """Pause by hand: no scheduled runs until someone resumes it (409 when already paused)."""
    activation = _activation(session, principal, activation_id)
    reason = f"paused by {principal.display_name}" + (f": {body.reason}" if body.reason else "")
    event = pause(session, activation, reason, automatic=False, actor=principal.display_name)
    queue_alert(session, event)  # sent by the next scheduler tick, after this commit
    return _describe(session, activation, request.app.state.settings)


@router.post("/{activation_id}/resume", response_model=ActivationScheduleOut)
def resume_activation(
    activation_id: str,
    body: PauseIn,
    request: Request,
    session: DbSession,
    principal: Runner,
) -> ActivationScheduleOut:
    """Resume a paused activation (automatic or manual pause; 409 when it is not paused)."""
    activation = _activation(session, principal, activation_id)
    reason = f"resumed by {principal.display_name}" + (f": {body.reason}" if body.reason else "")
    event = resume(session, activation, reason, automatic=False, actor=principal.display_name)
    queue_alert(session, event)  # sent by the next scheduler tick, after this commit
    return _describe(session, activation, request.app.state.settings)


@router.get("/{activation_id}/pauses", response_model=Page[PauseEventOut])
def list_pauses(
    activation_id: str,
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[PauseEventOut]:
    """Every pause and resume of the activation with its reason, newest first."""
    _activation(session, principal, activation_id)
    statement = select(PauseEvent).where(
        PauseEvent.activation_id == activation_id, PauseEvent.workspace_id == principal.workspace_id
    )
    rows, cursor = paginate(session, statement, PauseEvent.id, params, newest_first=True)
    return Page(items=[PauseEventOut.model_validate(row) for row in rows], next_cursor=cursor)


def _describe(session: DbSession, activation: Activation, settings: Settings) -> ActivationScheduleOut:
    session.flush()
    state = session.get(ScheduleState, activation.id)
    last_run = session.scalars(
        select(Run).where(Run.activation_id == activation.id).order_by(Run.id.desc()).limit(1)
    ).first()
    return ActivationScheduleOut(
        activation_id=activation.id,
        schedule=activation.schedule or {"kind": "manual"},
        enabled=activation.enabled,
        next_run_at=state.next_run_at if state else None,
        upcoming=_upcoming(activation, settings),
        last_scheduled_at=state.last_scheduled_at if state else None,
        paused=activation.paused_reason is not None,
        paused_reason=activation.paused_reason,
        automatic_pause=bool(state and state.auto_paused),
        next_probe_at=state.next_probe_at if state else None,
        probe_attempts=state.probe_attempts if state else 0,
        last_probe_message=state.last_probe_message if state else None,
        consecutive_failures=activation.consecutive_failures,
        last_run_warnings=list(last_run.warnings) if last_run else [],
        recent_pauses=[PauseEventOut.model_validate(e) for e in pause_history(session, activation.id, 10)],
    )


def _upcoming(activation: Activation, settings: Settings) -> list[datetime]:
    try:
        schedule = parse_schedule(activation.schedule, allow_seconds=settings.schedule_seconds_allowed)
    except ValidationError:
        return []
    times: list[datetime] = []
    moment = utcnow()
    for _ in range(UPCOMING):
        following = schedule.next_run_after(moment)
        if following is None:
            break
        times.append(following)
        moment = following
    return times


def _activation(session: DbSession, principal: Principal, activation_id: str) -> Activation:
    return get_scoped(session, Activation, activation_id, principal.workspace_id, "activation")
