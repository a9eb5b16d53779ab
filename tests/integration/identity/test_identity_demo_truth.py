"""The demo's identity tables carry ground truth, and deterministic rules merge with precision 1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from sluice.bench.identity import bench_spec, run_and_score
from sluice.demo.identity_people import add_identity_tables
from sluice.demo.warehouse import build_demo_warehouse


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("idr-demo") / "demo.duckdb"
    build_demo_warehouse(users=1500, seed=42, path=path, as_of=date(2026, 1, 15))
    with duckdb.connect(str(path)) as con:
        add_identity_tables(con, seed=42)
    return path


def test_identity_tables_hold_messy_duplicates_with_their_true_person(demo: Path) -> None:
    with duckdb.connect(str(demo), read_only=True) as con:
        users = {row[0] for row in con.execute("SELECT user_id FROM users").fetchall()}
        for table in ("crm_contacts", "newsletter_signups"):
            columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
            assert columns[-1] == "true_person_id"
            truth = {row[0] for row in con.execute(f"SELECT DISTINCT true_person_id FROM {table}").fetchall()}
            assert truth <= users
        households = con.execute(
            "SELECT count(DISTINCT true_person_id) FROM crm_contacts WHERE email LIKE 'home.%'"
        ).fetchone()
        assert households is not None
        assert households[0] >= 20
        duplicates = con.execute(
            "SELECT count(*) FROM (SELECT true_person_id FROM crm_contacts GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone()
        assert duplicates is not None
        assert duplicates[0] > 0
        same = con.execute(
            "SELECT count(*) FROM crm_contacts c JOIN users u ON u.user_id = c.true_person_id AND u.email = c.email"
        ).fetchone()
        assert same is not None
        assert 0 < same[0] < con.execute("SELECT count(*) FROM crm_contacts").fetchone()[0]  # type: ignore[index]


def test_deterministic_rules_reach_precision_one_on_the_demo(demo: Path) -> None:
    score, result, _ = run_and_score(demo, bench_spec(probabilistic=False), "truth")
    assert score.precision == 1.0
    assert 0.8 < score.recall < 1.0  # typo'd and unrelated addresses need fuzzy matching
    assert result.merges > 1000
