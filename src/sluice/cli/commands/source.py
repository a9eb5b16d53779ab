"""``sluice source``: list sources and source types, test a connection."""

from __future__ import annotations

import typer

source_app = typer.Typer(help="Warehouse connections (sources).", no_args_is_help=True)


@source_app.command("types")
def list_types() -> None:
    """List the source types and their secret fields."""
    from sluice.warehouse.configs import SOURCE_TYPES

    for spec in SOURCE_TYPES.values():
        typer.echo(f"{spec.name:<11} {spec.label:<16} secrets={','.join(spec.secret_fields) or '-'}")


@source_app.command("list")
def list_sources(workspace: str = typer.Option("default", help="Workspace slug.")) -> None:
    """List the sources of a workspace with the outcome of their last test."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.store.tables.sources import Source

    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        for row in session.scalars(
            select(Source).where(Source.workspace_id == workspace_id).order_by(Source.name)
        ):
            typer.echo(f"{row.name:<30} {row.type:<11} last test: {row.last_test_status or 'never'}")


@source_app.command("test")
def check_source(
    name: str = typer.Argument(..., help="Source name."),
    workspace: str = typer.Option("default", help="Workspace slug."),
) -> None:
    """Test a source's connection, permissions and bookkeeping schema."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.core.errors import NotFound
    from sluice.store.base import utcnow
    from sluice.store.tables.sources import Source
    from sluice.warehouse.check import test_connection
    from sluice.warehouse.sources import source_config

    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        row = session.scalar(select(Source).where(Source.workspace_id == workspace_id, Source.name == name))
        if row is None:
            raise NotFound(f"source {name!r} not found")
        report = test_connection(source_config(row, database.secrets))
        row.last_test_status, row.last_test_message, row.last_tested_at = (
            report.status,
            report.message,
            utcnow(),
        )
    typer.secho(f"{report.status}: {report.message}", fg="green" if report.ok else "red")
    if report.bookkeeping is not None:
        typer.echo(f"bookkeeping: {report.bookkeeping.message}")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(source_app, name="source")
