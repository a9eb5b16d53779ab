"""``sluice identity``: list identity graphs, run one, look a profile up."""

from __future__ import annotations

from typing import Any

import typer

identity_app = typer.Typer(help="Identity resolution: graphs, runs, profile lookup.", no_args_is_help=True)
WORKSPACE = typer.Option("default", help="Workspace slug.")


def _graph(session: Any, workspace: str, name: str) -> Any:
    from sqlalchemy import select

    from sluice.config.plan import workspace_id_of
    from sluice.core.errors import NotFound
    from sluice.store.tables.identity import IdentityGraph

    workspace_id = workspace_id_of(session, workspace)
    row = session.scalar(
        select(IdentityGraph).where(IdentityGraph.workspace_id == workspace_id, IdentityGraph.name == name)
    )
    if row is None:
        raise NotFound(f"identity graph {name!r} not found")
    return row


@identity_app.command("list")
def list_graphs(workspace: str = WORKSPACE) -> None:
    """List graphs with their last run."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.store.tables.identity import IdentityGraph, IdentityRun

    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        for row in session.scalars(
            select(IdentityGraph)
            .where(IdentityGraph.workspace_id == workspace_id)
            .order_by(IdentityGraph.name)
        ):
            last = session.scalar(
                select(IdentityRun)
                .where(IdentityRun.graph_id == row.id)
                .order_by(IdentityRun.id.desc())
                .limit(1)
            )
            state = f"{last.state}, {last.profiles or 0:,} profiles" if last else "never ran"
            typer.echo(f"{row.name:<32} {state}")


@identity_app.command("run")
def run(
    name: str = typer.Argument(..., help="Graph name."),
    workspace: str = WORKSPACE,
    force: bool = typer.Option(False, help="Recompute even when the inputs did not change."),
) -> None:
    """Run a graph in its warehouse and print its counts and warnings (skipped if inputs are unchanged)."""
    from sluice.cli.context import startup
    from sluice.identity.runs import run_graph

    _, database = startup()
    with database.session() as session:
        result = run_graph(
            session, _graph(session, workspace, name), database.secrets, requested_by="cli", force=force
        )
        typer.echo(f"run {result.id}: {result.state}")
        if result.state == "skipped":
            typer.echo(str(result.details.get("skipped", "")))
        if result.state not in ("succeeded", "skipped"):
            typer.echo(result.error or "", err=True)
            raise typer.Exit(1)
        typer.echo(
            f"input rows {result.input_rows:,}  profiles {result.profiles:,}  merges {result.merges:,}"
            f"  largest cluster {result.largest_cluster:,}"
        )
        for rule in result.details.get("rules", []):
            typer.echo(
                f"  rule {rule['rule']:<20} merged values {rule['merged_values']:>8,}"
                f"  shared {rule['shared_values']:>6,}  conflicting {rule['conflicting_values']:>6,}"
            )
        for warning in result.warnings:
            typer.echo(f"warning: {warning}")


@identity_app.command("lookup")
def lookup_profile(
    name: str = typer.Argument(..., help="Graph name."),
    identifier: str | None = typer.Option(None, help="Identifier name (with --value)."),
    value: str | None = typer.Option(None, help="Identifier value (normalised like the run)."),
    record_key: str | None = typer.Option(None, help="<model>:<key> of a source record."),
    profile_id: str | None = typer.Option(None, help="A profile id."),
    workspace: str = WORKSPACE,
) -> None:
    """Show matching profiles: golden record, merged records and the rule and value that linked each."""
    from sluice.cli.context import startup
    from sluice.core.errors import NotFound
    from sluice.identity.graphs import spec_of
    from sluice.identity.lookup import lookup
    from sluice.identity.tables import GraphTables
    from sluice.store.tables.sources import Source
    from sluice.warehouse.sources import open_source

    _, database = startup()
    with database.session() as session:
        graph = _graph(session, workspace, name)
        source = session.get(Source, graph.source_id)
        if source is None:
            raise NotFound("the graph's source is gone")
        with open_source(source, database.secrets) as warehouse:
            found = lookup(
                GraphTables(warehouse, graph.schema_name, graph.slug),
                spec_of(graph),
                profile_id=profile_id,
                record_key=record_key,
                identifier=identifier,
                value=value,
            )
    if not found:
        typer.echo("no profile found")
    for profile in found:
        typer.echo(f"profile {profile.profile_id}")
        for key, item in profile.golden.items():
            typer.echo(f"  {key:<20} {item}")
        for record in profile.records:
            why = ", ".join(f"{m['rule']}={m['value']}" for m in record.matched_by) or "-"
            typer.echo(f"  record {record.record_key:<30} linked by {why}")


def register(app: typer.Typer) -> None:
    app.add_typer(identity_app, name="identity")
