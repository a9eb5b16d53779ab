"""Runs: history across activations, one run's detail, cancel, per-row outcomes (page or CSV)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from sluice.api.deps import DbSession, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.errors import InvalidInput, NotFound
from sluice.schemas.activations import OutcomeOut, RunOut
from sluice.store.scoped import get_scoped
from sluice.store.tables.activations import Run
from sluice.sync.outcomes import OUTCOME_STATUSES, outcomes_csv, read_outcomes
from sluice.sync.runs import RunState, cancel_run

router = APIRouter(prefix="/runs", tags=["runs"])
Reader = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_READ))]
Runner = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_RUN))]
StatusFilter = Annotated[str | None, Query(description=f"One of {', '.join(OUTCOME_STATUSES)}")]


@router.get("", response_model=Page[RunOut])
def list_runs(
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
    state: Annotated[RunState | None, Query()] = None,
) -> Page[RunOut]:
    """Run history of the workspace, newest first."""
    statement = select(Run).where(Run.workspace_id == principal.workspace_id)
    if state is not None:
        statement = statement.where(Run.state == state)
    rows, cursor = paginate(session, statement, Run.id, params, newest_first=True)
    return Page(items=[_out(row) for row in rows], next_cursor=cursor)


@router.get("/{run_id}", response_model=RunOut)
def get_run(run_id: str, session: DbSession, principal: Reader) -> RunOut:
    return _out(_run(session, principal, run_id))


@router.post("/{run_id}/cancel", response_model=RunOut)
def cancel(run_id: str, session: DbSession, principal: Runner) -> RunOut:
    """Cancel a queued run, or stop a running one at its next batch boundary."""
    run = _run(session, principal, run_id)
    cancel_run(session, run.id)
    session.refresh(run)
    return _out(run)


@router.get("/{run_id}/outcomes", response_model=list[OutcomeOut])
def outcomes(
    run_id: str,
    session: DbSession,
    principal: Reader,
    status: StatusFilter = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OutcomeOut]:
    """Per-row outcomes (delivered, rejected with the vendor's message, failed, invalid with the reason)."""
    return read_outcomes(
        _outcomes_uri(session, principal, run_id, status), status=status, offset=offset, limit=limit
    )


@router.get("/{run_id}/outcomes.csv", response_class=StreamingResponse)
def outcomes_as_csv(
    run_id: str, session: DbSession, principal: Reader, status: StatusFilter = None
) -> StreamingResponse:
    """Download per-row outcomes as CSV."""
    uri = _outcomes_uri(session, principal, run_id, status)
    return StreamingResponse(
        outcomes_csv(uri, status=status),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}-outcomes.csv"'},
    )


def _run(session: DbSession, principal: Principal, run_id: str) -> Run:
    return get_scoped(session, Run, run_id, principal.workspace_id, "run")


def _outcomes_uri(session: DbSession, principal: Principal, run_id: str, status: str | None) -> str:
    if status is not None and status not in OUTCOME_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(OUTCOME_STATUSES)}")
    run = _run(session, principal, run_id)
    if not run.outcomes_uri:
        raise NotFound(
            "this run has no per-row outcomes (it sent nothing, was a dry run, or is not finished)"
        )
    return run.outcomes_uri


def _out(run: Run) -> RunOut:
    out = RunOut.model_validate(run)
    out.has_outcomes = bool(run.outcomes_uri)
    return out
