"""The demo segments count the same on PostgreSQL (jsonb event properties) as on DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis
import pytest

from sluice.demo.models import seed_demo_models
from sluice.demo.warehouse import build_demo_warehouse
from sluice.models.catalog import StaticCatalog
from sluice.models.stored import load_catalog
from sluice.schemas.segments import SegmentDefinition
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.demo import DEMO_SEGMENTS, _with_ids
from sluice.segments.preview import count
from sluice.segments.spec import SegmentSpec, StaticSegments
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.sources import Source

NOW = datetime(2026, 1, 15, tzinfo=UTC)
AS_OF = date(2026, 1, 15)


def _postgres_tables(url: str, names: list[str]) -> dict[str, Any]:
    """The demo tables on PostgreSQL, with the demo's calculated fields written out by hand."""
    backend = ibis.connect(url.replace("postgresql+psycopg://", "postgres://"))
    tables = {name: backend.table(name) for name in names}
    orders, users, items = tables["orders"], tables["users"], tables["order_items"]
    completed = orders.filter(orders.status == "completed")
    spent = completed.group_by(key=completed.user_id).aggregate(value=completed.total.sum())
    joined = users.left_join(spent, users.user_id == spent.key)
    tables["users"] = joined.select(*[joined[c] for c in users.columns], total_spent=joined.value)
    tables["order_items"] = items.mutate(line_total=items.quantity * items.unit_price)
    return tables


@pytest.mark.postgres
def test_demo_segments_agree_on_duckdb_and_postgres(
    sqlite_database: Database, pg_database: str, tmp_path: Path
) -> None:
    path = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=1000, seed=42, path=path, as_of=AS_OF)
    build_demo_warehouse(users=1000, seed=42, url=pg_database, as_of=AS_OF)
    with sqlite_database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(sqlite_database, workspace_id, path)
    specs: dict[str, SegmentSpec] = {}
    for name, _description, tree in DEMO_SEGMENTS:
        definition = SegmentDefinition.model_validate(_with_ids(tree, {n: n for n in specs}))
        specs[name] = SegmentSpec(name, name, "users", definition=definition)
    with sqlite_database.session() as session:
        source = session.query(Source).one()
        with load_catalog(session, workspace_id, source.id) as duck:
            compiler = SegmentCompiler(duck, now=NOW, segments=StaticSegments(specs))
            on_duckdb = {name: count(compiler, spec) for name, spec in specs.items()}
            models = {name: duck.model(name) for name in duck.definitions}
            links = [link for name in models for link in duck.relationships(name)]
    catalog = StaticCatalog("postgres", models, _postgres_tables(pg_database, list(models)), links)
    compiler = SegmentCompiler(catalog, now=NOW, segments=StaticSegments(specs))
    on_postgres = {name: count(compiler, spec) for name, spec in specs.items()}
    assert on_postgres == on_duckdb
    assert all(on_duckdb.values())
