"""``sluice segment`` on the demo workspace: list, preview, count, sql, overlap."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluice.cli.main import app
from sluice.core.settings import Settings
from sluice.demo.models import seed_demo_models
from sluice.demo.warehouse import build_demo_warehouse
from sluice.segments import demo
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace, upgrade

NOW = "2026-01-15T00:00:00+00:00"


@pytest.fixture
def workspace(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLUICE_DATA_DIR", str(settings.data_dir))
    path = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=1000, seed=42, path=path, as_of=date(2026, 1, 15))
    database = Database.from_settings(settings)
    upgrade(database)
    with database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(database, workspace_id, path)
    demo.seed_demo_segments(database, workspace_id)
    database.dispose()


def test_segment_commands_show_what_a_user_needs(workspace: None) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["segment", "list"])
    assert listed.exit_code == 0, listed.output
    assert demo.CHURN_RISK in listed.output
    assert "model=users" in listed.output
    shown = runner.invoke(
        app, ["segment", "preview", demo.VIP_FRANCE, "-c", "user_id", "-c", "country", "--now", NOW]
    )
    assert shown.exit_code == 0, shown.output
    assert "of 1,000 rows" in shown.output
    assert "country equals 'FR'" in shown.output
    counted = runner.invoke(app, ["segment", "count", demo.VIP_FRANCE, "--now", NOW])
    assert counted.exit_code == 0, counted.output
    assert int(counted.output.strip()) > 0
    sql = runner.invoke(app, ["segment", "sql", demo.CHURN_RISK, "--dialect", "bigquery", "--now", NOW])
    assert sql.exit_code == 0, sql.output
    assert "`email_open`" not in sql.output
    assert "'email_open'" in sql.output
    both = runner.invoke(app, ["segment", "overlap", demo.VIP_FRANCE, demo.LOOKALIKE, "--now", NOW])
    assert both.exit_code == 0, both.output
    assert f"{demo.VIP_FRANCE} ∩ {demo.LOOKALIKE}" in both.output
    missing = runner.invoke(app, ["segment", "count", "Nope"])
    assert missing.exit_code != 0
    assert "segment 'Nope' not found" in str(missing.exception)
