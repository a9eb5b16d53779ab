"""The demo workspace's identity graph: seeded over copies of the demo tables, run by the job runtime."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sluice.demo.identity_graph import DEMO_GRAPH, identity_path, seed_demo_identity
from sluice.demo.models import seed_demo_models
from sluice.demo.warehouse import build_demo_warehouse
from sluice.identity.jobs import execute_queued
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.identity import IdentityGraph, IdentityRun
from sluice.store.tables.models import Model


def test_the_demo_gets_a_graph_whose_first_run_shows_profiles(
    tmp_path: Path, sqlite_database: Any, settings: Any
) -> None:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=600, seed=3, path=warehouse, as_of=date(2026, 1, 15))
    with sqlite_database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(sqlite_database, workspace_id, warehouse)  # the demo's own "users" model exists

    seeded = seed_demo_identity(sqlite_database, workspace_id, warehouse)
    assert seeded is not None
    assert seeded.run_id is not None
    assert identity_path(warehouse).exists()
    assert execute_queued(sqlite_database, settings) == {seeded.run_id: "succeeded"}
    with sqlite_database.session() as session:
        graph = session.get(IdentityGraph, seeded.graph_id)
        run = session.get(IdentityRun, seeded.run_id)
        assert graph is not None
        assert run is not None
        assert graph.name == DEMO_GRAPH
        assert graph.schedule == {"kind": "interval", "hours": 1}
        assert run.input_rows is not None
        assert run.profiles is not None
        assert 600 <= run.profiles < run.input_rows  # duplicates merged, every user still a profile
        assert run.largest_cluster is not None
        assert run.largest_cluster <= 25
        profiles_model = session.get(Model, graph.model_id)
        assert profiles_model is not None
        assert (profiles_model.name, profiles_model.type) == ("demo_people_profiles", "users")
        names = set(session.scalars(select(Model.name).where(Model.workspace_id == workspace_id)))
        assert {"users", "app_users", "crm_contacts", "newsletter_signups"} <= names

    again = seed_demo_identity(sqlite_database, workspace_id, warehouse)  # the next start of the demo
    assert again is not None
    assert again.graph_id == seeded.graph_id
    assert again.run_id is not None
    assert execute_queued(sqlite_database, settings) == {
        again.run_id: "skipped"
    }  # tables copied again, same rows


def test_the_demo_starts_without_its_graph_when_another_process_holds_the_copy(
    tmp_path: Path, sqlite_database: Any
) -> None:
    import subprocess
    import sys

    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=200, seed=5, path=warehouse, as_of=date(2026, 1, 15))
    with sqlite_database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(identity_path(warehouse)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        assert seed_demo_identity(sqlite_database, workspace_id, warehouse) is None
    finally:
        holder.kill()
        holder.wait()
    with sqlite_database.session() as session:
        assert session.scalar(select(IdentityGraph).where(IdentityGraph.name == DEMO_GRAPH)) is None
