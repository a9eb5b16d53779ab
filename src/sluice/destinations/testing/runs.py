"""Real runs to an emulator for end-to-end destination tests: the demo warehouse (DuckDB), the demo
workspace, a stored destination reaching one emulator over HTTP (secrets encrypted as in
production), an activation of the demo newsletter segment, and runs executed by the sync runner.

Use with :class:`sluice.demo.emulator_server.BackgroundEmulators`::

    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        activation_id = newsletter_activation(database, emulators, warehouse, "google_ads", target)
        run = run_once(database, settings, activation_id)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.workspace import seed_demo_workspace
from sluice.destinations import registry
from sluice.segments.demo import NEWSLETTER
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination
from sluice.store.tables.segments import Segment
from sluice.sync.runner import execute_run
from sluice.sync.runs import RunRequest, request_run


def newsletter_activation(
    database: Database,
    emulators: BackgroundEmulators,
    warehouse: Path,
    type_name: str,
    target: dict[str, Any],
    *,
    service: str = "membership",
    identifier: dict[str, str] | None = None,
) -> str:
    """Seed the demo workspace, store a ``type_name`` destination reaching its emulator, and
    activate the demo newsletter segment to ``target``; returns the activation id."""
    workspace = seed_demo_workspace(database, warehouse=warehouse, emulators_url=emulators.url)
    config = emulators.emulators[type_name].connector_config(f"{emulators.url}/{type_name}")
    secrets = set(registry.get(type_name).config_model.secret_field_names())
    with database.session() as session:
        destination = Destination(
            workspace_id=workspace.workspace_id, name=f"{type_name} (emulator)", type=type_name
        )
        session.add(destination)
        destination.config = {k: v for k, v in config.items() if k not in secrets}
        destination.write_secrets(database.secrets, {k: v for k, v in config.items() if k in secrets})
        session.flush()
        segment = session.query(Segment).filter_by(workspace_id=workspace.workspace_id, name=NEWSLETTER).one()
        activation = Activation(
            workspace_id=workspace.workspace_id,
            name=f"Newsletter → {type_name}",
            segment_id=segment.id,
            destination_id=destination.id,
            service=service,
            target=target,
            identifier=identifier or {"field": "email", "kind": "email"},
            mapping=[],
            schedule={"kind": "manual"},
            settings={},
        )
        session.add(activation)
        session.flush()
        return str(activation.id)


def run_once(
    database: Database, settings: Settings, activation_id: str, *, full_refresh: bool = False
) -> Run:
    """Request one run of the activation, execute it here, and return the finished run."""
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        run_id = request_run(session, activation, RunRequest(full_refresh=full_refresh)).id
    execute_run(database, settings, run_id, worker="test")
    with database.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        session.expunge(run)
        return run
