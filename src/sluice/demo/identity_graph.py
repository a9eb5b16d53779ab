"""The demo workspace's identity graph: the demo's users, CRM contacts and newsletter sign-ups merged.

The demo warehouse is opened read-only (the API server and workers read it at once), and a graph
writes its tables in its source's bookkeeping schema. So the demo graph reads a small writable
DuckDB file next to the demo warehouse (``<warehouse>_identity.duckdb``) holding copies of
``users``, ``crm_contacts`` and ``newsletter_signups``, made inside DuckDB (``ATTACH … READ_ONLY``;
no row goes through Python) at every start. Its models are ``app_users``, ``crm_contacts`` and
``newsletter_signups`` (``users`` is the demo warehouse's). The graph runs hourly and a run is
queued at start-up for the server's job runtime, so start-up does not wait for it; a run on
unchanged copies is skipped (same input fingerprint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import select

from sluice.core.errors import Conflict
from sluice.core.logging import get_logger
from sluice.identity import graphs
from sluice.identity.runs import queue_run
from sluice.identity.spec import IdentitySpec
from sluice.models.catalog import ModelType
from sluice.models.service import create_model
from sluice.schemas.identity import IdentityGraphCreate
from sluice.schemas.models import ModelCreate, TableRef
from sluice.store.db import Database
from sluice.store.tables.identity import IdentityGraph
from sluice.store.tables.models import Model
from sluice.store.tables.sources import Source
from sluice.warehouse.bookkeeping import quoted
from sluice.warehouse.configs import DuckDBConfig, public_config
from sluice.warehouse.open import open_warehouse

log = get_logger(__name__)
DEMO_IDENTITY_SOURCE = "Demo identity"
DEMO_GRAPH = "Demo people"
DEMO_SCHEDULE = {"kind": "interval", "hours": 1}
# model name → (table copied from the demo warehouse, key field, model type)
DEMO_INPUTS: dict[str, tuple[str, str, ModelType]] = {
    "app_users": ("users", "user_id", ModelType.USERS),
    "crm_contacts": ("crm_contacts", "contact_id", ModelType.CUSTOM),
    "newsletter_signups": ("newsletter_signups", "signup_id", ModelType.CUSTOM),
}
ATTRIBUTES = {
    "first_name": "first_name",
    "last_name": "last_name",
    "city": "city",
    "birth_date": "birth_date",
}


def people_spec(*, probabilistic: bool, threshold: float = 0.99, users_model: str = "users") -> IdentitySpec:
    """The graph over the demo's users, crm_contacts and newsletter_signups (the benchmark's too)."""
    return IdentitySpec.model_validate(
        {
            "identifiers": [
                {"name": "user_id"},
                {"name": "crm_id"},
                {"name": "email", "kind": "email", "gmail_normalize": True},
                {"name": "phone", "kind": "phone", "default_country_code": "33"},
            ],
            "inputs": [
                {
                    "model": users_model,
                    "key": "user_id",
                    "identifiers": {
                        "user_id": "user_id",
                        "crm_id": "crm_id",
                        "email": "email",
                        "phone": "phone",
                    },
                    "attributes": ATTRIBUTES,
                    "timestamp": "updated_at",
                    "priority": 1,
                },
                {
                    "model": "crm_contacts",
                    "key": "contact_id",
                    "identifiers": {"crm_id": "customer_number", "email": "email", "phone": "phone"},
                    "attributes": ATTRIBUTES,
                    "timestamp": "updated_at",
                    "priority": 2,
                },
                {
                    "model": "newsletter_signups",
                    "key": "signup_id",
                    "identifiers": {"email": ["email", "alt_email"]},
                    "attributes": ATTRIBUTES,
                    "timestamp": "signed_up_at",
                    "priority": 3,
                },
            ],
            "rules": [
                {"name": "crm_id", "identifiers": ["crm_id"]},
                {"name": "email", "identifiers": ["email"], "max_profiles_per_value": 3},
                {"name": "phone", "identifiers": ["phone"], "max_profiles_per_value": 3},
            ],
            "limits": [{"identifier": "user_id", "max_values": 1}, {"identifier": "crm_id", "max_values": 1}],
            "probabilistic": {
                "enabled": probabilistic,
                "threshold": threshold,
                "fields": ["first_name", "last_name", "city", "birth_date"],
                "blocking": [["last_name", "city"], ["first_name", "birth_date"]],
            },
        }
    )


@dataclass(frozen=True)
class DemoIdentity:
    """What the seeding did: the graph, and the run it queued (None if one was already active)."""

    graph_id: str
    run_id: str | None


def identity_path(warehouse: Path) -> Path:
    """Where the demo graph's writable copy lives: next to the demo warehouse."""
    return warehouse.with_name(f"{warehouse.stem}_identity.duckdb")


def copy_inputs(warehouse: Path, target: Path) -> bool:
    """Copy the input tables into ``target`` inside DuckDB; False if the demo has no identity tables."""
    tables = [table for table, _, _ in DEMO_INPUTS.values()]
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH {_literal(str(warehouse.resolve()))} AS demo_source (READ_ONLY)")
        try:
            present = {
                str(row[0])
                for row in con.execute(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_catalog = 'demo_source' AND table_schema = 'main'"
                ).fetchall()
            }
            if not set(tables) <= present:
                return False
            for table in tables:
                name = quoted(table, "duckdb")
                con.execute(f"CREATE OR REPLACE TABLE main.{name} AS SELECT * FROM demo_source.main.{name}")
        finally:
            con.execute("DETACH demo_source")
    return True


def seed_demo_identity(database: Database, workspace_id: str, warehouse: Path) -> DemoIdentity | None:
    """Copy the inputs, create (or find) source, models and graph, and queue a run.

    Returns None when the demo warehouse predates the identity tables (``sluice demo init`` again)
    or the copy cannot be written (another process holds it open).
    """
    target = identity_path(warehouse)
    try:
        copied = copy_inputs(warehouse, target)
    except duckdb.Error as exc:  # e.g. another process holds the copy open: the demo starts without it
        log.warning("demo identity graph not seeded", reason=str(exc).splitlines()[0])
        return None
    if not copied:
        return None
    config = DuckDBConfig(path=str(target.resolve()), bookkeeping_schema="sluice")
    with database.session() as session, open_warehouse(config) as opened:
        source = session.scalar(
            select(Source).where(Source.workspace_id == workspace_id, Source.name == DEMO_IDENTITY_SOURCE)
        )
        if source is None:
            source = Source(
                workspace_id=workspace_id,
                name=DEMO_IDENTITY_SOURCE,
                type="duckdb",
                description="Copies of the demo's users, CRM contacts and newsletter sign-ups, for identity resolution.",
                config=public_config(config),
            )
            session.add(source)
            session.flush()
        for name, (table, key, kind) in DEMO_INPUTS.items():
            exists = session.scalar(
                select(Model).where(Model.workspace_id == workspace_id, Model.name == name)
            )
            if exists is None:
                body = ModelCreate(
                    name=name,
                    source_id=source.id,
                    type=kind,
                    table=TableRef(name=table),
                    primary_key=key,
                    description=f"Copy of the demo's {table} for the identity graph {DEMO_GRAPH!r}.",
                )
                create_model(session, workspace_id, body, opened)
        graph = session.scalar(
            select(IdentityGraph).where(
                IdentityGraph.workspace_id == workspace_id, IdentityGraph.name == DEMO_GRAPH
            )
        )
        if graph is None:
            body_graph = IdentityGraphCreate(
                name=DEMO_GRAPH,
                description="The demo's users, CRM contacts and newsletter sign-ups merged into profiles.",
                source_id=source.id,
                spec=people_spec(probabilistic=False, users_model="app_users"),
                schedule=dict(DEMO_SCHEDULE),
            )
            graph = graphs.create_graph(session, workspace_id, body_graph, database.secrets)
        try:
            with session.begin_nested():
                run_id: str | None = queue_run(session, graph, requested_by="demo", trigger="demo").id
        except Conflict:
            run_id = None
        return DemoIdentity(graph.id, run_id)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
