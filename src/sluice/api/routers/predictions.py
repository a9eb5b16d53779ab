"""AI predictions: predictors (churn, LTV, recommendations), their runs, versions and metrics.

Starting a run queues a version and executes it in the API process after the response (a
background task): training reads one row per user, so it fits next to the web server on the
sizes Sluice's embedded mode serves. Its progress, metrics and feature importance are read back
through ``GET /predictors/{id}/versions``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, status
from sqlalchemy import select

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.audit import bind_audit_context, current_audit_context, record_audit
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.settings import Settings
from sluice.predictions import service
from sluice.predictions.jobs import execute_with_heartbeat
from sluice.predictions.runs import queue_version
from sluice.schemas.predictions import PredictorCreate, PredictorOut, PredictorUpdate, VersionOut
from sluice.store.scoped import get_scoped
from sluice.store.tables.predictions import Predictor, PredictorVersion

router = APIRouter(prefix="/predictors", tags=["predictions"])
Reader = Annotated[Principal, Depends(require(Permission.MODELS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MODELS_WRITE))]


@router.get("", response_model=Page[PredictorOut])
def list_predictors(
    session: DbSession, principal: Reader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[PredictorOut]:
    statement = select(Predictor).where(Predictor.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, Predictor.id, params)
    return Page(items=[service.predictor_out(session, row) for row in rows], next_cursor=cursor)


@router.post("", response_model=PredictorOut, status_code=status.HTTP_201_CREATED)
def create_predictor(body: PredictorCreate, session: DbSession, principal: Writer) -> PredictorOut:
    """Create a predictor; its fields appear on the users model when its first run succeeds."""
    row = service.create_predictor(session, principal.workspace_id, body)
    return service.predictor_out(session, row)


@router.get("/{predictor_id}", response_model=PredictorOut)
def get_predictor(predictor_id: str, session: DbSession, principal: Reader) -> PredictorOut:
    row = get_scoped(session, Predictor, predictor_id, principal.workspace_id, "predictor")
    return service.predictor_out(session, row)


@router.patch("/{predictor_id}", response_model=PredictorOut)
def update_predictor(
    predictor_id: str, body: PredictorUpdate, session: DbSession, principal: Writer
) -> PredictorOut:
    row = get_scoped(session, Predictor, predictor_id, principal.workspace_id, "predictor")
    return service.predictor_out(session, service.update_predictor(session, row, body))


@router.delete("/{predictor_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_predictor(predictor_id: str, session: DbSession, principal: Writer) -> None:
    """Delete the predictor, its history and the fields it added to the users model."""
    row = get_scoped(session, Predictor, predictor_id, principal.workspace_id, "predictor")
    service.delete_predictor(session, row)


@router.get("/{predictor_id}/versions", response_model=Page[VersionOut])
def list_versions(
    predictor_id: str,
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[VersionOut]:
    """Run history and model versions, newest first, with metrics and feature importance."""
    predictor = get_scoped(session, Predictor, predictor_id, principal.workspace_id, "predictor")
    statement = select(PredictorVersion).where(PredictorVersion.predictor_id == predictor.id)
    rows, cursor = paginate(session, statement, PredictorVersion.id, params, newest_first=True)
    items = [service.version_out(row, predictor.active_version_id) for row in rows]
    return Page(items=items, next_cursor=cursor)


@router.post("/{predictor_id}/versions", response_model=VersionOut, status_code=status.HTTP_202_ACCEPTED)
def start_run(
    predictor_id: str,
    request: Request,
    request_session: DbSession,
    background: BackgroundTasks,
    principal: Writer,
) -> VersionOut:
    """Queue a training and scoring run; it executes after the response (poll the versions)."""
    database = get_database(request)
    with database.session() as session:  # committed before the background task claims it
        bind_audit_context(session, current_audit_context(request_session))
        predictor = get_scoped(session, Predictor, predictor_id, principal.workspace_id, "predictor")
        version = queue_version(session, predictor)
        record_audit(
            session, "prediction.run_started", "predictor", predictor.id, {"version": version.number}
        )
        out = service.version_out(version, predictor.active_version_id)
    settings: Settings = request.app.state.settings
    background.add_task(execute_with_heartbeat, database, settings, out.id)
    return out
