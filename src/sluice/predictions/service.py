"""Predictors in the store: create, change, delete, and what the API shows of them."""

from __future__ import annotations

from datetime import datetime

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict, InvalidInput
from sluice.models.catalog import ModelType
from sluice.predictions.fields import check_field_names, remove_fields
from sluice.predictions.pipeline import output_fields
from sluice.predictions.spec import PredictorConfig, PredictorKind
from sluice.schemas.predictions import PredictorCreate, PredictorOut, PredictorUpdate, VersionOut
from sluice.store.base import utcnow
from sluice.store.scoped import get_scoped
from sluice.store.tables.models import Model
from sluice.store.tables.predictions import Predictor, PredictorVersion


def next_due(cron: str | None, after: datetime) -> datetime | None:
    """The next time a cron schedule fires after ``after`` (None without a schedule)."""
    if not cron:
        return None
    if not croniter.is_valid(cron):
        raise InvalidInput(f"{cron!r} is not a valid cron expression (five fields, e.g. '0 3 * * 1')")
    result: datetime = croniter(cron, after).get_next(datetime)
    return result


def create_predictor(session: Session, workspace_id: str, body: PredictorCreate) -> Predictor:
    """Create a predictor on a users model (its fields appear when its first version is published)."""
    model = get_scoped(session, Model, body.model_id, workspace_id, "model")
    if model.type != ModelType.USERS:
        raise InvalidInput(f"predictions run on a users model; {model.name!r} is a {model.type} model")
    check_field_names(model, list(output_fields(body.kind, body.config)), None)
    _check_outputs_free(session, model, body.kind, body.config, None)
    predictor = Predictor(
        workspace_id=workspace_id,
        name=body.name,
        description=body.description,
        kind=body.kind.value,
        model_id=model.id,
        config=body.config.model_dump(mode="json"),
        schedule_cron=body.schedule_cron or None,
        next_run_at=next_due(body.schedule_cron, utcnow()),
    )
    session.add(predictor)
    _flush(session, body.name)
    return predictor


def _check_outputs_free(
    session: Session, model: Model, kind: PredictorKind, config: PredictorConfig, own_id: str | None
) -> None:
    wanted = set(output_fields(kind, config))
    for other in session.scalars(select(Predictor).where(Predictor.model_id == model.id)):
        if other.id == own_id:
            continue
        taken = wanted & set(output_fields(PredictorKind(other.kind), config_of(other)))
        if taken:
            raise Conflict(
                f"predictor {other.name!r} already writes field {sorted(taken)[0]!r} on model {model.name!r}; "
                "set another field_name"
            )


def _flush(session: Session, name: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"a predictor named {name!r} already exists in this workspace") from None


def update_predictor(session: Session, predictor: Predictor, body: PredictorUpdate) -> Predictor:
    """Rename, reconfigure or reschedule a predictor (new settings apply from the next run)."""
    if body.name is not None:
        predictor.name = body.name
    if body.description is not None:
        predictor.description = body.description
    if body.config is not None:
        model = session.get(Model, predictor.model_id)
        assert model is not None
        kind = PredictorKind(predictor.kind)
        check_field_names(model, list(output_fields(kind, body.config)), predictor.id)
        _check_outputs_free(session, model, kind, body.config, predictor.id)
        predictor.config = body.config.model_dump(mode="json")
    if body.schedule_cron is not None:
        predictor.schedule_cron = body.schedule_cron or None
        predictor.next_run_at = next_due(predictor.schedule_cron, utcnow())
    _flush(session, predictor.name)
    return predictor


def delete_predictor(session: Session, predictor: Predictor) -> None:
    """Delete a predictor, its versions and the fields it created on the users model."""
    model = session.get(Model, predictor.model_id)
    if model is not None:
        remove_fields(session, model, predictor.id)
    session.delete(predictor)
    session.flush()


def config_of(predictor: Predictor) -> PredictorConfig:
    return PredictorConfig.model_validate(predictor.config or {})


def version_out(version: PredictorVersion, active_id: str | None) -> VersionOut:
    return VersionOut(
        id=version.id,
        number=version.number,
        state=version.state,
        trigger=version.trigger,
        progress=version.progress,
        step=version.step,
        message=version.message,
        started_at=version.started_at,
        finished_at=version.finished_at,
        cutoff=version.cutoff,
        metrics=version.metrics,
        feature_importance=version.feature_importance,
        rows_scored=version.rows_scored,
        active=version.id == active_id,
        created_at=version.created_at,
    )


def predictor_out(session: Session, predictor: Predictor) -> PredictorOut:
    active = (
        session.get(PredictorVersion, predictor.active_version_id) if predictor.active_version_id else None
    )
    config = config_of(predictor)
    kind = PredictorKind(predictor.kind)
    return PredictorOut(
        id=predictor.id,
        name=predictor.name,
        description=predictor.description,
        kind=kind,
        model_id=predictor.model_id,
        config=config,
        schedule_cron=predictor.schedule_cron,
        next_run_at=predictor.next_run_at,
        fields=list(output_fields(kind, config)),
        active_version=version_out(active, predictor.active_version_id) if active else None,
        created_at=predictor.created_at,
    )
