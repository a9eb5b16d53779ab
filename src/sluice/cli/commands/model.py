"""``sluice model``: list models, check primary keys and source schema drift."""

from __future__ import annotations

import typer

model_app = typer.Typer(help="Models over source tables or SQL.", no_args_is_help=True)
WORKSPACE = typer.Option("default", help="Workspace slug.")


@model_app.command("list")
def list_models(workspace: str = WORKSPACE) -> None:
    """List models with their type, primary key and broken fields."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.store.tables.models import Model

    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        for row in session.scalars(
            select(Model).where(Model.workspace_id == workspace_id).order_by(Model.name)
        ):
            broken = [item.name for item in row.fields if item.broken_reason]
            note = f" broken: {', '.join(broken)}" if broken else ""
            typer.echo(
                f"{row.name:<24} {row.type:<7} pk={row.primary_key:<16} fields={len(row.fields)}{note}"
            )


@model_app.command("check")
def check_model(name: str = typer.Argument(..., help="Model name."), workspace: str = WORKSPACE) -> None:
    """Check the primary key (duplicates, nulls) and the source schema (broken fields)."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.core.errors import NotFound
    from sluice.models.drift import check_model_schema
    from sluice.models.health import key_health
    from sluice.models.service import catalog_for
    from sluice.store.tables.models import Model
    from sluice.store.tables.sources import Source
    from sluice.warehouse.sources import open_source

    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        model = session.scalar(select(Model).where(Model.workspace_id == workspace_id, Model.name == name))
        if model is None:
            raise NotFound(f"model {name!r} not found")
        source = session.get(Source, model.source_id)
        assert source is not None
        with open_source(source, database.secrets) as warehouse:
            drift = check_model_schema(session, model, warehouse)
            health = key_health(catalog_for(session, workspace_id, model.source_id, warehouse), model.name)
    typer.echo(
        f"primary key {health.primary_key}: {health.total_rows} rows, {health.duplicate_keys} duplicated keys "
        f"({health.duplicate_rows} rows), {health.null_keys} null keys"
    )
    for key, rows in health.sample_duplicates:
        typer.echo(f"  duplicate {key!r}: {rows} rows")
    for broken in drift.broken:
        typer.secho(f"broken field {broken.field}: {broken.reason}", fg="red")
    for kind, used_by, reason in drift.affected:
        typer.echo(f"  affected {kind} {used_by}: {reason}")
    if not drift.broken and health.healthy:
        typer.secho("model is healthy", fg="green")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
