"""The demo's identity tables carry ground truth, and deterministic rules merge with precision 1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from sluice.bench.identity import Score, bench_spec, run_and_score
from sluice.demo.warehouse import build_demo_warehouse
from sluice.identity.engine import RunResult


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("idr-demo") / "demo.duckdb"
    summary = build_demo_warehouse(users=1000, seed=42, path=path, as_of=date(2026, 1, 15))
    assert summary.table_counts["crm_contacts"] > 500  # the demo generator adds the identity tables
    return path


@pytest.fixture(scope="module")
def rules_run(demo: Path) -> tuple[Score, RunResult]:
    score, result, _ = run_and_score(demo, bench_spec(probabilistic=False), "truth_rules")
    return score, result


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


def test_deterministic_rules_reach_precision_one_on_the_demo(rules_run: tuple[Score, RunResult]) -> None:
    score, result = rules_run
    assert score.precision == 1.0
    assert 0.8 < score.recall < 1.0  # typo'd and unrelated addresses need fuzzy matching
    assert result.merges > 1000


def test_splink_adds_recall_without_losing_precision_and_explains_its_weights(
    demo: Path, rules_run: tuple[Score, RunResult]
) -> None:
    rules = rules_run[0]
    fuzzy, result, _ = run_and_score(demo, bench_spec(probabilistic=True, threshold=0.99), "truth_splink")
    assert fuzzy.recall > rules.recall + 0.02
    assert fuzzy.precision >= 0.99
    step = result.rules[-1]
    assert step.rule == "probabilistic"
    assert step.merged_values > 0
    model = result.probabilistic["model"]
    assert {level["field"] for level in model} == {"first_name", "last_name", "city", "birth_date"}
    assert all(level["match_weight"] is not None for level in model if level["field"] == "last_name")
    assert result.probabilistic["pairs"] >= step.merged_values
    with duckdb.connect(str(demo), read_only=True) as con:
        why = con.execute(
            "SELECT value FROM sluice.idr_truth_splink_matches WHERE rule = 'probabilistic' LIMIT 1"
        ).fetchone()
        leftovers = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '__splink%'"
        ).fetchone()
    assert why is not None
    assert why[0].startswith("p=")
    assert "last_name +" in why[0]
    assert leftovers == (0,)
