"""The command line as a user runs it (a real subprocess)."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from sluice import __version__


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "sluice", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"sluice {__version__}"


def test_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env={"SLUICE_PORT": "not-a-port"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "SLUICE_PORT" in result.stderr


def test_db_upgrade_on_sqlite(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env={"SLUICE_DATA_DIR": str(tmp_path / "d")}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d" / "sluice.db").exists()


@pytest.mark.postgres
def test_db_upgrade_against_empty_postgres(pg_database: str, tmp_path: Path) -> None:
    url = pg_database.replace("postgresql+psycopg://", "postgresql://")
    result = run_cli(
        "db", "upgrade", env={"SLUICE_DATABASE_URL": url, "SLUICE_DATA_DIR": str(tmp_path)}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    with psycopg.connect(url) as connection:
        tables = {
            row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    assert {"organizations", "workspaces", "sources"} <= tables
