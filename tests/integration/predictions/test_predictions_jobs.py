"""Predictor runs as jobs: cron schedules queue once, queued versions execute, lost runs fail."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from sluice.core.errors import Conflict
from sluice.core.settings import Settings
from sluice.demo.models import seed_demo_models
from sluice.demo.warehouse import build_demo_warehouse
from sluice.jobs.runtime import JobRuntime
from sluice.predictions.jobs import LOST_MESSAGE, tick
from sluice.predictions.runs import queue_version
from sluice.predictions.service import create_predictor
from sluice.predictions.spec import PredictorConfig, PredictorKind
from sluice.schemas.predictions import PredictorCreate
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.models import Model
from sluice.store.tables.predictions import Predictor, PredictorVersion


@pytest.fixture
def predictor_id(sqlite_database: Database, tmp_path: Path) -> str:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=1000, seed=3, path=warehouse, as_of=date.today())
    with sqlite_database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(sqlite_database, workspace_id, warehouse)
    with sqlite_database.session() as session:
        users = session.scalars(select(Model).where(Model.name == "users")).one()
        body = PredictorCreate(
            name="Recommendations",
            kind=PredictorKind.RECOMMENDATIONS,
            model_id=users.id,
            config=PredictorConfig(top_n=5),
            schedule_cron="0 3 * * *",
        )
        predictor = create_predictor(session, workspace_id, body)
        assert predictor.next_run_at is not None
        return predictor.id


def _wait_until_finished(database: Database, version_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with database.session() as session:
            version = session.get(PredictorVersion, version_id)
            assert version is not None
            if version.state not in ("queued", "running"):
                assert version.state == "succeeded", version.message
                return
        time.sleep(0.2)
    raise AssertionError("the scheduled version did not finish")


def test_a_due_schedule_queues_one_run_which_executes(
    sqlite_database: Database, settings: Settings, predictor_id: str
) -> None:
    now = datetime.now(UTC)
    assert tick(sqlite_database, settings, now=now) == []  # not due yet
    with sqlite_database.session() as session:
        session.execute(update(Predictor).values(next_run_at=now - timedelta(minutes=1)))
    queued = tick(sqlite_database, settings, now=now)
    assert len(queued) == 1
    assert tick(sqlite_database, settings, now=now) == queued  # the schedule moved on: no second run
    with sqlite_database.session() as session:
        predictor = session.get(Predictor, predictor_id)
        assert predictor is not None
        assert predictor.next_run_at is not None
        assert predictor.next_run_at > now
        with pytest.raises(Conflict, match="already has a run queued"):
            queue_version(session, predictor)
    # The job runtime's scheduler pass executes it on a background thread.
    JobRuntime(sqlite_database, settings).tick()
    _wait_until_finished(sqlite_database, queued[0])
    with sqlite_database.session() as session:
        version = session.get(PredictorVersion, queued[0])
        assert version is not None
        assert (version.trigger, version.number, version.progress) == ("schedule", 1, 1.0)
        assert version.metrics is not None
        assert version.metrics["k"] == 10
        users = session.scalars(select(Model).where(Model.name == "users")).one()
        assert "recommended_products" in {field.name for field in users.fields}


def test_a_run_whose_process_died_is_failed_with_the_reason(
    sqlite_database: Database, settings: Settings, predictor_id: str
) -> None:
    with sqlite_database.session() as session:
        predictor = session.get(Predictor, predictor_id)
        assert predictor is not None
        version = queue_version(session, predictor)
        version.state = "running"
        version_id = version.id
    later = datetime.now(UTC) + timedelta(seconds=settings.heartbeat_timeout_seconds + 5)
    assert tick(sqlite_database, settings, now=later) == []
    with sqlite_database.session() as session:
        version = session.get(PredictorVersion, version_id)
        assert version is not None
        assert (version.state, version.message) == ("failed", LOST_MESSAGE)
