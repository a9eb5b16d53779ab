"""``sluice sync``: run an activation now (``--wait`` runs it here with a live stage display)."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from sluice.auth.accounts import find_workspace
from sluice.cli.context import startup
from sluice.core.errors import NotFound
from sluice.store.tables.activations import Activation, Run
from sluice.sync.runs import FINAL_STATES, RunRequest, RunTrigger, request_run

QUEUED_PATIENCE = 30.0
sync_app = typer.Typer(help="Run activations.", no_args_is_help=True)
console = Console()


@sync_app.command("run")
def run(
    name: str = typer.Argument(help="Activation name or id."),
    full: bool = typer.Option(False, "--full", help="Full refresh: resend everything, remove strays."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only: show what would be sent."),
    wait: bool = typer.Option(False, "--wait", help="Run it here and wait for the result."),
    workspace: str = typer.Option("default", help="Workspace id or slug."),
) -> None:
    """Queue a run of an activation (and with --wait, execute it in this process)."""
    settings, database = startup()
    with database.session() as session:
        target = find_workspace(session, workspace)
        activation = session.scalars(
            select(Activation).where(
                Activation.workspace_id == target.id, (Activation.name == name) | (Activation.id == name)
            )
        ).first()
        if activation is None:
            raise NotFound(f"no activation named '{name}' in workspace '{workspace}'")
        queued = request_run(
            session,
            activation,
            RunRequest(trigger=RunTrigger.CLI, full_refresh=full, dry_run=dry_run, requested_by=_who()),
        )
        run_id = queued.id
    console.print(f"queued run {run_id} of '{name}'")
    if not wait:
        return
    from sluice.sync.runner import execute_run

    worker = f"cli:{socket.gethostname()}:{os.getpid()}"
    outcome: dict[str, str | None] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(state=execute_run(database, settings, run_id, worker=worker)),
        daemon=True,
    )
    with console.status("starting…") as status:
        thread.start()
        while thread.is_alive():
            _show_progress(database, run_id, status)
            thread.join(0.5)
        # A running `sluice serve` or worker may have claimed the run first: wait for its result
        # (a run still queued after QUEUED_PATIENCE seconds is left to the workers).
        queued_since = time.monotonic()
        while (state := _show_progress(database, run_id, status)) not in FINAL_STATES:
            if state != "running" and time.monotonic() - queued_since > QUEUED_PATIENCE:
                console.print(f"run {run_id} is still {state}: a worker will execute it")
                return
            time.sleep(0.5)
    with database.session() as session:
        finished = session.get(Run, run_id)
        assert finished is not None
        _print_run(finished)
        if finished.state in ("failed", "cancelled"):
            raise typer.Exit(1)


def _show_progress(database: Any, run_id: str, status: Any) -> str | None:
    """Show the run's state and stage on ``status``; return the state."""
    with database.session() as session:
        current = session.get(Run, run_id)
        if current is None:
            return None
        elsewhere = current.worker and not current.worker.startswith("cli:")
        where = f" (worker {current.worker})" if elsewhere else ""
        status.update(f"{current.state}: {current.stage or '…'}{where}")
        return str(current.state)


def _print_run(run: Run) -> None:
    table = Table(title=f"Run {run.id}: {run.state}")
    table.add_column("count")
    table.add_column("rows", justify="right")
    for name, value in (run.counts or {}).items():
        table.add_row(name, f"{value:,}")
    console.print(table)
    if run.timings:
        console.print(
            "stages: " + ", ".join(f"{stage} {seconds:.2f}s" for stage, seconds in run.timings.items())
        )
    for warning in run.warnings or []:
        console.print(f"[yellow]warning:[/yellow] {warning['message']}")
    if run.error:
        console.print(f"[red]error:[/red] {run.error}")


def _who() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
