"""The demo warehouse: deterministic, dirty on purpose, loadable into DuckDB and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import psycopg
import pytest

from sluice.demo.postgres_load import libpq_url
from sluice.demo.warehouse import TABLES, build_demo_warehouse

AS_OF = date(2026, 11, 23)


def build(path: Path, *, seed: int = 42, users: int = 3000) -> object:
    return build_demo_warehouse(users=users, seed=seed, path=path, as_of=AS_OF)


def test_same_seed_gives_identical_tables(tmp_path: Path) -> None:
    first = build(tmp_path / "a.duckdb")
    second = build(tmp_path / "b.duckdb")
    assert first.fingerprint == second.fingerprint  # type: ignore[attr-defined]
    with duckdb.connect(str(tmp_path / "a.duckdb")) as con:
        con.execute(f"ATTACH '{tmp_path / 'b.duckdb'}' AS other (READ_ONLY)")
        for table in TABLES:
            differing = con.sql(
                f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL SELECT * FROM other.{table}) "
                f"UNION ALL (SELECT * FROM other.{table} EXCEPT ALL SELECT * FROM {table}))"
            ).fetchall()[0][0]
            assert differing == 0, table


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    assert build(tmp_path / "a.duckdb").fingerprint != build(tmp_path / "b.duckdb", seed=7).fingerprint  # type: ignore[attr-defined]


def test_every_kind_of_dirt_is_present_and_counted(tmp_path: Path) -> None:
    summary = build_demo_warehouse(users=20_000, seed=42, path=tmp_path / "d.duckdb", as_of=AS_OF)
    dirt = summary.dirt_counts
    assert set(dirt) == {
        "duplicate user_id rows",
        "null user_id",
        "null emails",
        "malformed emails",
        "emails shared by several users",
        "users without orders",
    }
    assert all(count > 0 for count in dirt.values()), dirt
    # Roughly the documented rates: 0.1% duplicates (two rows each), 0.5% null and 0.5% malformed emails.
    assert 20 <= dirt["duplicate user_id rows"] <= 80
    assert 50 <= dirt["null emails"] <= 150
    assert 50 <= dirt["malformed emails"] <= 150
    assert dirt["users without orders"] < 0.3 * 20_000
    with duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True) as con:
        # Reported counts are what is in the file.
        assert (
            con.sql("SELECT count(*) FROM users WHERE email IS NULL").fetchall()[0][0] == dirt["null emails"]
        )
        # Order totals are the sum of their lines; every order line points at a product.
        mismatched = con.sql(
            "SELECT count(*) FROM orders o JOIN (SELECT order_id, round(sum(quantity * unit_price), 2) AS s "
            "FROM order_items GROUP BY order_id) i USING (order_id) WHERE abs(o.total - i.s) > 0.001"
        ).fetchall()[0][0]
        assert mismatched == 0
        orphans = con.sql(
            "SELECT count(*) FROM order_items i LEFT JOIN products p USING (product_id) WHERE p.product_id IS NULL"
        ).fetchall()[0][0]
        assert orphans == 0
        # Events span the last two years, never the future; every purchase event is a completed order.
        first, last = con.sql("SELECT min(occurred_at), max(occurred_at) FROM events").fetchall()[0]
        assert last.date() <= AS_OF
        assert (AS_OF - first.date()).days <= 1100
        purchases = con.sql("SELECT count(*) FROM events WHERE event_name = 'purchase'").fetchall()[0][0]
        completed = con.sql("SELECT count(*) FROM orders WHERE status = 'completed'").fetchall()[0][0]
        assert purchases == completed
        # Spend is skewed: the top 10% of buyers bring far more than 10% of revenue.
        top_share = con.sql(
            "WITH s AS (SELECT user_id, sum(total) AS spend FROM orders GROUP BY user_id), "
            "r AS (SELECT spend, ntile(10) OVER (ORDER BY spend DESC) AS decile FROM s) "
            "SELECT sum(spend) FILTER (WHERE decile = 1) / sum(spend) FROM r"
        ).fetchall()[0][0]
        assert top_share > 0.2


@pytest.mark.postgres
def test_loads_the_same_data_into_postgres(tmp_path: Path, pg_database: str) -> None:
    summary = build_demo_warehouse(users=2000, seed=42, url=pg_database, as_of=AS_OF)
    assert "postgres" in summary.path_or_url
    with psycopg.connect(libpq_url(pg_database)) as pg:
        for table, count in summary.table_counts.items():
            assert pg.execute(f"SELECT count(*) FROM {table}").fetchone() == (count,)
        types = dict(
            pg.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events'"
            ).fetchall()
        )
        assert types["occurred_at"] == "timestamp without time zone"
        assert types["properties"] == "jsonb"
    # Loading twice replaces the tables rather than appending.
    build_demo_warehouse(users=2000, seed=42, url=pg_database, as_of=AS_OF)
    with psycopg.connect(libpq_url(pg_database)) as pg:
        assert pg.execute("SELECT count(*) FROM users").fetchone() == (2000,)


def test_cli_prints_counts_and_dirt(tmp_path: Path) -> None:
    target = tmp_path / "demo.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "sluice", "demo", "init", "--users", "2000", "--path", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "2,000" in result.stdout
    assert "malformed emails" in result.stdout
    assert "fingerprint" in result.stdout
    assert target.exists()


def test_password_in_url_is_not_printed(tmp_path: Path, pg_database: str) -> None:
    with_password = pg_database.replace("postgres@", "postgres:hunter2@")
    summary = build_demo_warehouse(users=200, seed=1, url=with_password, as_of=AS_OF)
    assert "hunter2" not in summary.path_or_url
