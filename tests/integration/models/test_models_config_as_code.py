"""``sluice plan`` / ``sluice apply -f sluice.yaml`` as a user runs them (subprocess, DuckDB source)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sluice.cli.testing import invoke

CONFIG = """
sources:
  - name: shop
    type: duckdb
    config:
      path: ${SHOP_DB}
models:
  - name: customers
    source: shop
    type: users
    table: {schema: main, name: customers}
    primary_key: id
    fields:
      - {name: id, column: id}
      - {name: email, column: email, meaning: email}
      - {name: country, column: country, categorical: true}
      - name: spend
        calculation: {kind: aggregate, relationship: orders, function: sum, field: total}
    relationships:
      - {kind: has_many, to: orders, from_field: id, to_field: customer_id}
  - name: orders
    source: shop
    type: events
    sql: SELECT order_id, customer_id, total, placed_at FROM orders
    primary_key: order_id
    timestamp_field: placed_at
"""


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | env
    return subprocess.run(
        [sys.executable, "-m", "sluice", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM (VALUES (1, 'a@x.io', 'SE'), (2, 'b@x.io', 'FR')) t(id, email, country)"
    )
    con.execute(
        "CREATE TABLE orders AS SELECT * FROM (VALUES (10, 1, 5.0, TIMESTAMP '2024-01-01'), (11, 1, 7.0, TIMESTAMP '2024-02-01')) "
        "t(order_id, customer_id, total, placed_at)"
    )
    con.close()
    (tmp_path / "sluice.yaml").write_text(CONFIG)
    return tmp_path, {"SHOP_DB": str(db), "SLUICE_DATA_DIR": str(tmp_path / "data")}


def test_apply_twice_changes_nothing_the_second_time(project: tuple[Path, dict[str, str]]) -> None:
    cwd, env = project
    applied = run_cli("apply", "-f", "sluice.yaml", cwd=cwd, env=env)
    assert applied.returncode == 0, applied.stderr
    assert "+ create model customers" in applied.stdout
    assert "applied 5 change(s)" in applied.stdout
    again = run_cli("apply", "-f", "sluice.yaml", cwd=cwd, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "no changes: the workspace matches the file"


def test_plan_lists_changes_and_models_can_be_checked(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    planned = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert planned.exit_code == 0, planned.output
    for line in (
        "+ create source shop",
        "+ create model customers",
        "+ create relationship customers.orders",
        "+ create field customers.spend",
    ):
        assert line in planned.output
    assert invoke("apply", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd).exit_code == 0
    assert "customers" in invoke("model", "list", env=env, monkeypatch=monkeypatch, cwd=cwd).output
    checked = invoke("model", "check", "customers", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert "0 duplicated keys" in checked.output
    assert "model is healthy" in checked.output
    (cwd / "sluice.yaml").write_text(CONFIG.replace("categorical: true", "categorical: false"))
    changed = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert changed.output.strip().splitlines()[0] == "~ update field customers.country: categorical"
    (cwd / "sluice.yaml").write_text(CONFIG.replace("primary_key: id", "primary_key: email"))
    refused = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert "primary key cannot change" in str(refused.exception)


def test_secrets_must_be_env_references(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    (cwd / "bad.yaml").write_text(
        "sources:\n  - name: pg\n    type: postgres\n    config: {host: db}\n    secrets: {password: hunter2}\n"
    )
    result = invoke("plan", "-f", "bad.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert "must be an ${ENV_VAR} reference" in str(result.exception)
    assert "hunter2" not in str(result.exception)
