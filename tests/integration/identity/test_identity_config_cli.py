"""Identity graphs as code (``sluice apply``) and ``sluice identity run`` / ``lookup`` in-process."""

from __future__ import annotations

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
  - {name: crm, source: shop, type: users, table: {name: crm}, primary_key: id}
  - {name: news, source: shop, table: {name: news}, primary_key: id}
identity_graphs:
  - name: People
    source: shop
    identifiers:
      - {name: email, kind: email, gmail_normalize: true}
      - {name: phone, kind: phone, default_country_code: "46"}
    inputs:
      - model: crm
        identifiers: {email: email, phone: [phone, mobile]}
        attributes: {first_name: first_name}
        priority: 1
      - model: news
        identifiers: {email: email}
    rules:
      - {name: email, identifiers: [email]}
      - {name: phone, identifiers: [phone]}
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE crm AS SELECT * FROM (VALUES (1, 'a.b@gmail.com', '070-123 45 67', NULL, 'Ann'),"
            " (2, 'c@x.io', NULL, '+46701234567', 'Cid'), (3, 'd@x.io', NULL, NULL, 'Dee'))"
            " t(id, email, phone, mobile, first_name)"
        )
        con.execute(
            "CREATE TABLE news AS SELECT * FROM (VALUES (7, 'AB@googlemail.com'), (8, 'z@z.io')) t(id, email)"
        )
    (tmp_path / "sluice.yaml").write_text(CONFIG)
    return tmp_path, {"SHOP_DB": str(db), "SLUICE_DATA_DIR": str(tmp_path / "data")}


def test_graph_as_code_runs_from_the_cli(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    applied = invoke("apply", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert applied.exit_code == 0, applied.output
    assert "+ create identity graph People: 2 input(s), 2 rule(s)" in applied.output
    again = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert again.output.strip() == "no changes: the workspace matches the file"
    (cwd / "sluice.yaml").write_text(
        CONFIG.replace('default_country_code: "46"', 'default_country_code: "33"')
    )
    changed = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert changed.output.strip().splitlines()[0] == "~ update identity graph People: spec"
    ran = invoke("identity", "run", "People", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert ran.exit_code == 0, ran.output
    # crm 1 + news 7 (Gmail), crm 1 + crm 2 (phone 070-… is +46701234567 in Sweden), crm 3, news 8
    assert "input rows 5  profiles 3  merges 2  largest cluster 3" in ran.output
    looked = invoke(
        "identity", "lookup", "People", "--identifier", "phone", "--value", "+46 70 123 45 67",
        env=env, monkeypatch=monkeypatch, cwd=cwd,
    )  # fmt: skip
    assert looked.exit_code == 0, looked.output
    assert "record crm:2" in looked.output
    assert "linked by email=ab@gmail.com" in looked.output
    assert "People" in invoke("identity", "list", env=env, monkeypatch=monkeypatch, cwd=cwd).output
    again_run = invoke("identity", "run", "People", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert again_run.exit_code == 0, again_run.output
    assert "skipped: inputs unchanged since run" in again_run.output


def test_graph_schedule_as_code(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    assert invoke("apply", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd).exit_code == 0
    scheduled = CONFIG.replace(
        "    source: shop\n    identifiers:",
        "    source: shop\n    schedule: {kind: daily, at: '06:00'}\n    identifiers:",
    )
    (cwd / "sluice.yaml").write_text(scheduled)
    plan = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert plan.output.strip().splitlines()[0] == "~ update identity graph People: schedule"
    assert invoke("apply", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd).exit_code == 0
    same = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert same.output.strip() == "no changes: the workspace matches the file"
    (cwd / "sluice.yaml").write_text(scheduled.replace("at: '06:00'", "at: '6am'"))
    bad = invoke("plan", "-f", "sluice.yaml", env=env, monkeypatch=monkeypatch, cwd=cwd)
    assert bad.exit_code != 0
    assert "HH:MM" in f"{bad.output}{bad.exception}"
