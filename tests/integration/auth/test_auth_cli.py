"""``sluice users`` and ``sluice tokens`` as an operator runs them (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.core.settings import Settings
from sluice.store.db import Database


def run_cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | {
        "SLUICE_DATA_DIR": str(data_dir)
    }
    return subprocess.run(
        [sys.executable, "-m", "sluice", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,
        timeout=120,
    )


def test_users_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = run_cli(
        data_dir,
        "users",
        "create",
        "ops@example.com",
        "--role",
        "admin",
        "--password-stdin",
        stdin="long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created ops@example.com (admin of default)" in created.stdout
    duplicate = run_cli(data_dir, "users", "create", "ops@example.com", "--no-password")
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    issued = run_cli(data_dir, "tokens", "create", "airflow", "--role", "operator")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("slu_svc_")
    listed = run_cli(data_dir, "tokens", "list")
    assert "airflow" in listed.stdout
    assert token not in listed.stdout

    settings = Settings(data_dir=data_dir)
    database = Database.from_settings(settings)
    with TestClient(create_app(settings, database)) as api:
        login = api.post(
            "/api/v1/auth/login", json={"email": "ops@example.com", "password": "long enough password"}
        )
        assert login.status_code == 200
        assert login.json()["role"] == "admin"
        me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["role"] == "operator"
        audit = api.get("/api/v1/audit-logs", params={"target_type": "membership"}).json()["items"]
        assert audit[0]["actor_type"] == "cli"
        assert str(audit[0]["actor_name"]).startswith("cli:")
    token_id = next(line.split()[1] for line in issued.stderr.splitlines() if line.startswith("token "))
    assert run_cli(data_dir, "tokens", "revoke", token_id).returncode == 0
    with TestClient(create_app(settings, database)) as api:
        refused = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
    database.dispose()
