"""Identity resolution on the demo data loaded into PostgreSQL: rules, then Splink's PostgreSQL backend."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import ibis
import pytest
from sqlalchemy.engine import make_url

from sluice.bench.identity import Score, bench_spec, score
from sluice.demo.warehouse import build_demo_warehouse
from sluice.identity.engine import resolve
from sluice.identity.probabilistic import splink_pair_finder
from sluice.identity.records import InputTable
from sluice.warehouse.connection import IbisWarehouse

KEYS = {"users": "user_id", "crm_contacts": "contact_id", "newsletter_signups": "signup_id"}


def _scored(warehouse: IbisWarehouse, slug: str) -> Score:
    """Score the run's records against the ground truth (a few thousand rows, read for the test only)."""
    local = duckdb.connect()
    try:
        for name in KEYS:
            local.register(name, warehouse.to_pyarrow(warehouse.table("public", name)))
        local.register("records", warehouse.to_pyarrow(warehouse.table("sluice", f"idr_{slug}_records")))
        return score(local, "records")
    finally:
        local.close()


@pytest.mark.postgres
def test_rules_then_splink_on_postgresql_reach_the_stated_precision(pg_database: str) -> None:
    build_demo_warehouse(users=1000, seed=42, url=pg_database, as_of=date(2026, 1, 15))
    url = make_url(pg_database)
    backend = ibis.postgres.connect(host=url.host, port=url.port, user=url.username, database=url.database)
    warehouse = IbisWarehouse(backend, dialect="postgres", default_schema="public")
    try:
        inputs = {name: InputTable(warehouse.table("public", name), key) for name, key in KEYS.items()}
        rules = resolve(warehouse, bench_spec(probabilistic=False), inputs, schema="sluice", slug="pg_rules")
        rules_score = _scored(warehouse, "pg_rules")
        fuzzy: Any = resolve(
            warehouse,
            bench_spec(probabilistic=True, threshold=0.99),
            inputs,
            schema="sluice",
            slug="pg_splink",
            pair_finder=splink_pair_finder,
        )
        fuzzy_score = _scored(warehouse, "pg_splink")
        leftovers = [name for name in warehouse.list_tables("sluice") if name.startswith("__splink")]
    finally:
        warehouse.close()
    assert rules.merges > 1000
    assert rules_score.precision == 1.0
    assert fuzzy.probabilistic["backend"] == "postgres"
    assert fuzzy.rules[-1].merged_values > 0
    assert fuzzy_score.recall > rules_score.recall + 0.01
    assert fuzzy_score.precision >= 0.98
    assert leftovers == []
