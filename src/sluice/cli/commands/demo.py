"""``sluice demo``: the demo warehouse and the ready-to-use demo workspace."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sluice.core.errors import InvalidInput

if TYPE_CHECKING:
    from sluice.demo.warehouse import DemoSummary

demo_app = typer.Typer(help="Demo warehouse and workspace.", no_args_is_help=True)
console = Console()


@demo_app.command("init")
def demo_init(
    users: int = typer.Option(100_000, min=100, help="Number of users to generate."),
    seed: int = typer.Option(42, help="Random seed: the same seed gives the same data."),
    path: Path | None = typer.Option(None, help="DuckDB file to write (default: <data dir>/demo.duckdb)."),
    url: str | None = typer.Option(None, help="Load into PostgreSQL instead (postgresql://…)."),
    as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Date the data ends at (default: today, UTC)."
    ),
) -> None:
    """Generate the e-commerce demo warehouse (deterministic, with deliberate dirt)."""
    if path is not None and url is not None:
        raise InvalidInput("give either --path or --url, not both")
    if url is None and path is None:
        from sluice.core.settings import load_settings

        path = load_settings().data_dir / "demo.duckdb"
    summary = build_with_progress(
        users=users, seed=seed, path=path, url=url, as_of=as_of.date() if as_of else None
    )
    print_summary(summary)


@demo_app.command("up")
def demo_up(
    warehouse: Path | None = typer.Option(None, help="Demo warehouse (default: <data dir>/demo.duckdb)."),
    host: str | None = typer.Option(None, help="Interface to bind (default: SLUICE_HOST or 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: SLUICE_PORT or 8000)."),
    emulator_port: int = typer.Option(9000, help="Port of the local destination emulators."),
) -> None:
    """Start the demo: seeded emulators, the demo workspace, and the server in demo mode."""
    import os

    from sluice.cli.commands.serve import run_server
    from sluice.cli.context import startup
    from sluice.demo.emulator_server import BackgroundEmulators
    from sluice.demo.identity_graph import DEMO_GRAPH, seed_demo_identity
    from sluice.demo.remote import DEMO_REMOTE_SEGMENT, seed_demo_remote_segment
    from sluice.demo.workspace import seed_demo_workspace
    from sluice.destinations.emulators import demo_contacts

    os.environ["SLUICE_DEMO"] = "true"  # one-click sign-in as the demo owner
    settings, database = startup()
    warehouse = warehouse or settings.data_dir / "demo.duckdb"
    if not warehouse.exists():
        raise InvalidInput(f"no demo warehouse at {warehouse}: run `sluice demo init` first")
    emulators = BackgroundEmulators(port=emulator_port, contacts=demo_contacts(warehouse)).start()
    try:
        demo = seed_demo_workspace(
            database, warehouse=warehouse, emulators_url=emulators.url, emulators=emulators.emulators
        )
        if seed_demo_identity(database, demo.workspace_id, warehouse) is not None:
            console.print(f"Identity graph “{DEMO_GRAPH}”: a run is queued (profiles in the Identity page)")
        refreshed = seed_demo_remote_segment(database, settings, demo, emulators)
        if refreshed:
            console.print(
                f"Remote segment “{DEMO_REMOTE_SEGMENT}” read from the Intercom emulator: {refreshed}"
            )
        console.print(f"Destination emulators on {emulators.url}/<name> (Mailchimp, Intercom, Voyado)")
        console.print("Demo activations (run one from the web app, or `sluice sync run NAME --wait`):")
        for name in demo.activations:
            console.print(f"  • {name}")
        run_server(settings, database, host=host, port=port)
    finally:
        emulators.stop()


def build_with_progress(
    *, users: int, seed: int, path: Path | None, url: str | None, as_of: date | None
) -> DemoSummary:
    """Build the demo warehouse with a progress bar."""
    from sluice.demo.warehouse import build_demo_warehouse

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("generating", total=1.0)

        def report(step: str, fraction: float) -> None:
            progress.update(task, description=step, completed=fraction)

        return build_demo_warehouse(users=users, seed=seed, path=path, url=url, as_of=as_of, progress=report)


def print_summary(summary: DemoSummary) -> None:
    """Print the table counts and the deliberate dirt counts."""
    tables = Table(title=f"Demo warehouse {summary.path_or_url}")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, count in summary.table_counts.items():
        tables.add_row(name, f"{count:,}")
    dirt = Table(title="Deliberate dirt")
    dirt.add_column("kind")
    dirt.add_column("count", justify="right")
    for name, count in summary.dirt_counts.items():
        dirt.add_row(name, f"{count:,}")
    console.print(tables)
    console.print(dirt)
    console.print(f"content fingerprint {summary.fingerprint} (same seed and date give the same fingerprint)")
    console.print(f"built in {summary.seconds:.1f}s")


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
