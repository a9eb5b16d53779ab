"""Predictor runs: queue a version, execute it (train, evaluate, score, publish), schedules.

A version moves ``queued → running → succeeded | failed``; one active version per predictor at a
time (queuing while one is queued or running is refused). Progress and the current step are
committed as the run goes, so the API and the web app show them. Publishing writes the scores to a
new table (or local file), then, in one control-DB transaction, repoints the users model's
prediction fields and the predictor's ``active_version_id``. Older versions' scores are dropped,
except the previous one (a reader may still be using it); their metrics stay as history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict, NotFound, SluiceError
from sluice.core.logging import get_logger
from sluice.core.settings import Settings
from sluice.models.stored import load_catalog
from sluice.predictions.fields import publish_fields
from sluice.predictions.pipeline import output_fields, run_predictor
from sluice.predictions.service import config_of, next_due
from sluice.predictions.spec import PredictorKind
from sluice.predictions.storage import ScoreLocation, drop_scores, write_scores
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.tables.models import Model
from sluice.store.tables.predictions import Predictor, PredictorVersion
from sluice.store.tables.sources import Source
from sluice.warehouse.sources import source_config

log = get_logger(__name__)

ACTIVE_STATES = ("queued", "running")


def queue_version(session: Session, predictor: Predictor, *, trigger: str = "manual") -> PredictorVersion:
    """Queue a new training and scoring run (Conflict while another is queued or running)."""
    busy = session.scalar(
        select(PredictorVersion).where(
            PredictorVersion.predictor_id == predictor.id, PredictorVersion.state.in_(ACTIVE_STATES)
        )
    )
    if busy is not None:
        raise Conflict(f"predictor {predictor.name!r} already has a run {busy.state} (version {busy.number})")
    last = session.scalar(
        select(PredictorVersion.number)
        .where(PredictorVersion.predictor_id == predictor.id)
        .order_by(PredictorVersion.number.desc())
        .limit(1)
    )
    version = PredictorVersion(
        workspace_id=predictor.workspace_id,
        predictor_id=predictor.id,
        number=(last or 0) + 1,
        state="queued",
        trigger=trigger,
    )
    session.add(version)
    session.flush()
    return version


def claim_due_predictors(session: Session, now: datetime | None = None) -> list[str]:
    """Queue a run for each predictor whose schedule is due; the queued version ids."""
    now = now or utcnow()
    queued: list[str] = []
    due = session.scalars(
        select(Predictor).where(Predictor.next_run_at.is_not(None), Predictor.next_run_at <= now)
    ).all()
    for predictor in due:
        moved = session.execute(
            update(Predictor)
            .where(Predictor.id == predictor.id, Predictor.next_run_at == predictor.next_run_at)
            .values(next_run_at=next_due(predictor.schedule_cron, now))
            .execution_options(synchronize_session=False)
        )
        if not getattr(moved, "rowcount", 0):
            continue
        try:
            with session.begin_nested():
                queued.append(queue_version(session, predictor, trigger="schedule").id)
        except Conflict:
            log.info("predictor still running; scheduled run skipped", predictor_id=predictor.id)
    return queued


def _claim(database: Database, version_id: str) -> bool:
    with database.session() as session:
        result = session.execute(
            update(PredictorVersion)
            .where(PredictorVersion.id == version_id, PredictorVersion.state == "queued")
            .values(state="running", started_at=utcnow(), step="starting", progress=0.0)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def _progress(database: Database, version_id: str, step: str, fraction: float) -> None:
    with database.session() as session:
        session.execute(
            update(PredictorVersion)
            .where(PredictorVersion.id == version_id)
            .values(step=step, progress=round(fraction, 3))
            .execution_options(synchronize_session=False)
        )


def execute_version(
    database: Database, settings: Settings, version_id: str, *, now: datetime | None = None
) -> str:
    """Run a queued version to ``succeeded`` or ``failed``; its final state."""
    if not _claim(database, version_id):
        with database.session() as session:
            version = session.get(PredictorVersion, version_id)
            if version is None:
                raise NotFound(f"predictor version {version_id!r} not found")
            return version.state
    try:
        _execute(database, settings, version_id, now or utcnow())
    except Exception as exc:
        message = exc.message if isinstance(exc, SluiceError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, SluiceError):
            log.exception("predictor run failed", version_id=version_id)
        with database.session() as session:
            version = session.get(PredictorVersion, version_id)
            if version is not None:  # None: the predictor was deleted meanwhile
                version.state, version.message, version.finished_at = "failed", message, utcnow()
        return "failed"
    return "succeeded"


def _execute(database: Database, settings: Settings, version_id: str, now: datetime) -> None:
    with database.session() as session:
        version = session.get(PredictorVersion, version_id)
        assert version is not None
        predictor = session.get(Predictor, version.predictor_id)
        assert predictor is not None
        model = session.get(Model, predictor.model_id)
        if model is None:
            raise NotFound("the predictor's users model was deleted")
        source = session.get(Source, model.source_id)
        assert source is not None
        config = config_of(predictor)
        kind = PredictorKind(predictor.kind)
        workspace_id, model_name = predictor.workspace_id, model.name
        catalog = load_catalog(session, workspace_id, model.source_id, secrets=database.secrets)
        source_settings = source_config(source, database.secrets)
    with catalog:
        result = run_predictor(
            catalog, model_name, kind, config, now, lambda step, f: _progress(database, version_id, step, f)
        )
        _progress(database, version_id, "writing scores", 0.9)
        location = write_scores(
            catalog.warehouse, source_settings, settings.data_dir, version_id, result.scores
        )
        superseded = _publish(database, version_id, location, result, kind)
        for old in superseded:
            try:
                drop_scores(catalog.warehouse, old)
            except SluiceError as exc:  # the scores stay; the next run tries nothing else
                log.warning("could not drop superseded scores", error=exc.message)


def _publish(
    database: Database, version_id: str, location: ScoreLocation, result: object, kind: PredictorKind
) -> list[ScoreLocation]:
    from sluice.predictions.pipeline import RunResult

    assert isinstance(result, RunResult)
    with database.session() as session:
        version = session.get(PredictorVersion, version_id)
        assert version is not None
        predictor = session.get(Predictor, version.predictor_id)
        assert predictor is not None
        model = session.get(Model, predictor.model_id)
        assert model is not None
        config = config_of(predictor)
        publish_fields(
            session,
            model,
            predictor.id,
            version.id,
            location,
            output_fields(kind, config),
            f"{predictor.name} ({kind.value} prediction, version {version.number})",
        )
        previous = predictor.active_version_id
        predictor.active_version_id = version.id
        version.state, version.progress, version.step = "succeeded", 1.0, "done"
        version.finished_at = utcnow()
        version.cutoff = result.cutoff.replace(tzinfo=version.finished_at.tzinfo)
        version.metrics = result.metrics
        version.feature_importance = result.importance
        version.rows_scored = result.scores.num_rows
        version.scores_location = {
            "table": location.table,
            "schema_name": location.schema_name,
            "file": location.file,
        }
        dropped: list[ScoreLocation] = []
        older = session.scalars(
            select(PredictorVersion).where(
                PredictorVersion.predictor_id == predictor.id,
                PredictorVersion.id.not_in([version.id, previous or ""]),
            )
        )
        for old in older:
            if old.scores_location:
                dropped.append(ScoreLocation(**old.scores_location))
            old.scores_location = None
        return dropped
