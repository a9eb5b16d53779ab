"""Remote segments in ``sluice.yaml`` and from the CLI: apply, refresh, refresh history, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from sluice.cli.testing import invoke
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.destinations.sdk import Target, TargetSpec

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
  - name: Support
    type: intercom
    config: {base_url: "${INTERCOM_URL}"}
    secrets: {access_token: "${INTERCOM_TOKEN}"}
segments:
  - name: Openers
    model: customers
    type: remote
    remote: {destination: Support, remote_id: "${TAG_ID}", remote_kind: tag, identifier_field: email}
    refresh_schedule: {kind: interval, hours: 6}
  - name: Openers in France
    model: customers
    definition:
      conditions:
        conditions:
          - {kind: segment, segment_id: Openers}
          - {kind: property, field: country, operator: equals, value: FR}
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE customers AS SELECT * FROM (VALUES (1, 'A@x.io', 'FR'), (2, 'b@x.io', 'FR'), "
            "(3, 'c@x.io', 'SE')) t(id, email, country)"
        )
    with BackgroundEmulators(contacts=["a@x.io", "b@x.io", "c@x.io", "ghost@y.io"]) as emulators:
        intercom = emulators.emulators["intercom"]
        intercom.seed_targets(["openers"], TargetSpec(kind="tag", name="openers"))
        tag_id = next(tag_id for tag_id, name in intercom.tags.items() if name == "openers")
        intercom.seed_members(Target("tag", tag_id, "openers"), ["a@x.io", "c@x.io", "ghost@y.io"])
        env = {
            "SHOP_DB": str(db),
            "INTERCOM_URL": f"{emulators.url}/intercom",
            "INTERCOM_TOKEN": intercom.token,
            "TAG_ID": tag_id,
            "SLUICE_DATA_DIR": str(tmp_path / "data"),
        }
        yield tmp_path, env


def test_remote_segments_apply_from_the_file_and_refresh_from_the_invoke(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    (cwd / "sluice.yaml").write_text(CONFIG)
    config = CONFIG
    applied = invoke("apply", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert applied.exit_code == 0, applied.output
    assert "+ create segment Openers: remote over customers" in applied.output
    assert "+ create segment Openers in France: conditions over customers" in applied.output
    assert env["INTERCOM_TOKEN"] not in applied.output
    again = invoke("plan", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert again.output.strip() == "no changes: the workspace matches the file"

    refreshed = invoke("segment", "refresh", "Openers", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert refreshed.exit_code == 0, refreshed.output
    assert "succeeded read=3 matched=2 unmatched=1 rows=2 storage=bookkeeping" in refreshed.output
    assert "unmatched ids (sample): ghost@y.io" in refreshed.output
    counted = invoke("segment", "count", "Openers", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert counted.output.strip() == "2"
    france = invoke("segment", "count", "Openers in France", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert france.output.strip() == "1", france.output  # A@x.io: FR, tagged (matched whatever the case)
    history = invoke("segment", "refreshes", "Openers", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert history.output.count("succeeded") == 1

    (cwd / "sluice.yaml").write_text(config.replace("hours: 6", "hours: 12"))
    planned = invoke("plan", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert "~ update segment Openers: refresh_schedule" in planned.output


def test_a_remote_segment_of_an_unknown_tag_is_refused_by_the_file(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, env = project
    (cwd / "sluice.yaml").write_text(CONFIG.split("  - name: Openers in France")[0])
    refused = invoke(
        "apply", "-f", "sluice.yaml", cwd=cwd, env=env | {"TAG_ID": "31337"}, monkeypatch=monkeypatch
    )
    assert refused.exit_code != 0
    assert "remote segment '31337' cannot be read: Intercom tag 31337 no longer exists" in str(
        refused.exception
    )
    nothing = invoke("plan", "-f", "sluice.yaml", cwd=cwd, env=env, monkeypatch=monkeypatch)
    assert "+ create segment Openers" in nothing.output, "a refused apply changes nothing"
