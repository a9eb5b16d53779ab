"""Destinations, segments and activations in ``sluice.yaml``: plan, apply, apply again, refusals."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sluice.cli.testing import invoke

CONFIG = """
sources:
  - name: shop
    type: duckdb
    config: {path: "${SHOP_DB}"}
models:
  - name: customers
    source: shop
    type: users
    table: {schema: main, name: customers}
    primary_key: id
destinations:
  - name: Newsletter tool
    type: mailchimp
    config: {list_id: list123, base_url: "http://127.0.0.1:9/mailchimp"}
    secrets: {api_key: "${MAILCHIMP_KEY}"}
segments:
  - name: Swedes
    model: customers
    definition:
      conditions:
        conditions:
          - {kind: property, field: country, operator: equals, value: SE}
activations:
  - name: Swedes to Mailchimp
    segment: Swedes
    destination: Newsletter tool
    service: membership
    target: {kind: static_segment, name: Swedes, create_if_missing: true}
    identifier: {field: email, kind: email}
    mapping:
      - {source: country, destination: COUNTRY}
    schedule: {kind: interval, hours: 6}
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE customers AS SELECT * FROM (VALUES (1, 'a@x.io', 'SE'), (2, 'b@x.io', 'FR')) "
            "t(id, email, country)"
        )
    (tmp_path / "sluice.yaml").write_text(CONFIG)
    env = {
        "SHOP_DB": str(db),
        "MAILCHIMP_KEY": "0123456789abcdef0123456789abcdef-us1",
        "SLUICE_DATA_DIR": str(tmp_path / "data"),
    }
    return tmp_path, env


def test_activations_are_applied_once_and_updated_by_name(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    applied = invoke("apply", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert applied.exit_code == 0, applied.output
    for line in (
        "+ create destination Newsletter tool",
        "+ create segment Swedes",
        "+ create activation Swedes to Mailchimp: Swedes → Newsletter tool",
    ):
        assert line in applied.output
    assert env["MAILCHIMP_KEY"] not in applied.output
    again = invoke("apply", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert again.output.strip() == "no changes: the workspace matches the file"

    (cwd / "sluice.yaml").write_text(
        CONFIG.replace("hours: 6", "hours: 12").replace("value: SE", "value: FR")
    )
    planned = invoke("plan", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert "~ update segment Swedes: definition" in planned.output
    assert "~ update activation Swedes to Mailchimp: schedule" in planned.output

    monkeypatch.setenv("MAILCHIMP_KEY", "fedcba9876543210fedcba9876543210-us1")
    rotated = invoke(
        "plan",
        "-f",
        "sluice.yaml",
        cwd=cwd,
        env=env | {"MAILCHIMP_KEY": "fedcba9876543210fedcba9876543210-us1"},
        monkeypatch=monkeypatch,
    )
    assert "~ update destination Newsletter tool: secrets" in rotated.output
    assert "fedcba" not in rotated.output


def test_bad_activations_are_refused_with_the_reason(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    (cwd / "bad.yaml").write_text(CONFIG.replace("destination: Newsletter tool", "destination: Nowhere"))
    missing = invoke("plan", "-f", "bad.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert "destination 'Nowhere' not found" in str(missing.exception)

    (cwd / "bad.yaml").write_text(
        CONFIG.replace('secrets: {api_key: "${MAILCHIMP_KEY}"}', "secrets: {api_key: abc-us1}")
    )
    literal = invoke("plan", "-f", "bad.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert "destinations[0].secrets.api_key: secrets must be an ${ENV_VAR} reference" in str(
        literal.exception
    )

    (cwd / "bad.yaml").write_text(CONFIG.replace("kind: static_segment", "kind: tag"))
    wrong_target = invoke("apply", "-f", "bad.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert wrong_target.exit_code != 0
    assert "tag" in str(wrong_target.exception)
    nothing = invoke("plan", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert "+ create source shop" in nothing.output, "a refused apply changes nothing"
