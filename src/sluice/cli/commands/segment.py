"""``sluice segment``: list segments, preview them, count them, show their SQL, compare overlaps,
refresh remote segments and show their refresh history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

segment_app = typer.Typer(
    help="Segments: preview, count, SQL, overlap, remote refresh.", no_args_is_help=True
)
WORKSPACE = typer.Option("default", help="Workspace slug.")
NOW = typer.Option(None, "--now", help="Evaluation time, ISO 8601 (default: now, UTC).")
console = Console()


@contextmanager
def _opened(workspace: str, names: list[str], now: str | None) -> Iterator[tuple[Any, list[Any]]]:
    """A compiler on the segments' source and their specs (all segments must share one model)."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.core.errors import InvalidInput, NotFound
    from sluice.segments.service import StoredSegments, open_compiler
    from sluice.store.tables.models import Model
    from sluice.store.tables.segments import Segment

    moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        rows = []
        for name in names:
            row = session.scalar(
                select(Segment).where(Segment.workspace_id == workspace_id, Segment.name == name)
            )
            if row is None:
                raise NotFound(f"segment {name!r} not found")
            rows.append(row)
        if len({row.model_id for row in rows}) != 1:
            raise InvalidInput("these segments are built on different models")
        model = session.get(Model, rows[0].model_id)
        assert model is not None
        resolver = StoredSegments(session, workspace_id)
        specs = [resolver.get(row.id) for row in rows]
        with open_compiler(session, workspace_id, model, secrets=database.secrets, now=moment) as compiler:
            yield compiler, specs


def _segment_row(session: Any, workspace_id: str, name: str) -> Any:
    from sqlalchemy import select

    from sluice.core.errors import NotFound
    from sluice.store.tables.segments import Segment

    row = session.scalar(select(Segment).where(Segment.workspace_id == workspace_id, Segment.name == name))
    if row is None:
        raise NotFound(f"segment {name!r} not found")
    return row


@segment_app.command("refresh")
def refresh_segment(
    name: str = typer.Argument(..., help="Remote segment name."), workspace: str = WORKSPACE
) -> None:
    """Read a remote segment's members from its destination now, and print the refresh's counts."""
    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.segments.remote_refresh import RefreshTrigger, execute_refresh, request_refresh
    from sluice.store.tables.segments import RemoteRefresh

    settings, database = startup()
    with database.session() as session:
        row = _segment_row(session, workspace_id_of(session, workspace), name)
        refresh_id = request_refresh(session, row, trigger=RefreshTrigger.MANUAL, requested_by="cli").id
    execute_refresh(database, settings, refresh_id, worker="cli")
    with database.session() as session:
        refresh = session.get(RemoteRefresh, refresh_id)
        assert refresh is not None
        typer.echo(_refresh_line(refresh))
        if refresh.unmatched_sample:
            typer.echo(f"  unmatched ids (sample): {', '.join(refresh.unmatched_sample)}")
        if refresh.state != "succeeded":
            raise typer.Exit(1)


@segment_app.command("refreshes")
def list_refreshes(
    name: str = typer.Argument(..., help="Remote segment name."),
    limit: int = typer.Option(10, min=1, max=500),
    workspace: str = WORKSPACE,
) -> None:
    """The refresh history of a remote segment, newest first."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.store.tables.segments import RemoteRefresh

    _, database = startup()
    with database.session() as session:
        row = _segment_row(session, workspace_id_of(session, workspace), name)
        refreshes = session.scalars(
            select(RemoteRefresh)
            .where(RemoteRefresh.segment_id == row.id)
            .order_by(RemoteRefresh.id.desc())
            .limit(limit)
        )
        for refresh in refreshes:
            typer.echo(_refresh_line(refresh))


def _refresh_line(refresh: Any) -> str:
    when = refresh.created_at.strftime("%Y-%m-%d %H:%M:%S")
    if refresh.state != "succeeded":
        return f"{when} {refresh.id} {refresh.state:<9} {refresh.error or ''}"
    seconds = (refresh.finished_at - refresh.started_at).total_seconds()
    return (
        f"{when} {refresh.id} succeeded read={refresh.ids_read:,} matched={refresh.ids_matched:,} "
        f"unmatched={refresh.ids_unmatched:,} rows={refresh.rows:,} storage={refresh.storage} "
        f"in {seconds:.1f}s"
    )


@segment_app.command("list")
def list_segments(workspace: str = WORKSPACE) -> None:
    """List segments with their model and type."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.store.tables.models import Model
    from sluice.store.tables.segments import Segment

    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        models = {
            m.id: m.name for m in session.scalars(select(Model).where(Model.workspace_id == workspace_id))
        }
        for row in session.scalars(
            select(Segment).where(Segment.workspace_id == workspace_id).order_by(Segment.name)
        ):
            typer.echo(f"{row.name:<42} model={models.get(row.model_id, '?'):<12} type={row.type}")


@segment_app.command("preview")
def preview_segment(
    name: str = typer.Argument(..., help="Segment name."),
    columns: list[str] | None = typer.Option(None, "--column", "-c", help="Field to show (repeatable)."),
    limit: int = typer.Option(10, min=0, max=500, help="Sample rows."),
    workspace: str = WORKSPACE,
    now: str | None = NOW,
) -> None:
    """Size, per-condition counts and sample rows of a segment."""
    from sluice.segments.preview import preview

    with _opened(workspace, [name], now) as (compiler, specs):
        result = preview(compiler, specs[0], columns=columns, limit=limit)
    share = result.count / result.model_count if result.model_count else 0.0
    typer.echo(f"{name}: {result.count:,} of {result.model_count:,} rows ({share:.1%})")
    for item in result.conditions:
        typer.echo(f"  {item.path:<18} {item.count:>10,}  {item.description}")
    if result.rows:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*[_cell(row[c]) for c in result.columns])
        console.print(table)


@segment_app.command("count")
def count_segment(
    name: str = typer.Argument(..., help="Segment name."), workspace: str = WORKSPACE, now: str | None = NOW
) -> None:
    """Print the number of rows in a segment."""
    from sluice.segments.preview import count

    with _opened(workspace, [name], now) as (compiler, specs):
        typer.echo(count(compiler, specs[0]))


@segment_app.command("sql")
def show_sql(
    name: str = typer.Argument(..., help="Segment name."),
    dialect: str | None = typer.Option(None, help="SQL dialect (default: the source's)."),
    workspace: str = WORKSPACE,
    now: str | None = NOW,
) -> None:
    """Print the SQL a segment runs."""
    from sluice.segments.sql import segment_sql

    with _opened(workspace, [name], now) as (compiler, specs):
        typer.echo(segment_sql(compiler, specs[0], dialect=dialect))


@segment_app.command("overlap")
def overlap_segments(
    names: list[str] = typer.Argument(..., help="2 to 5 segment names."),
    workspace: str = WORKSPACE,
    now: str | None = NOW,
) -> None:
    """Every intersection of 2 to 5 segments of one model, and their pairwise overlaps."""
    from sluice.segments.overlap import overlap

    with _opened(workspace, names, now) as (compiler, specs):
        result = overlap(compiler, specs)
    label = {spec.id: spec.name for spec in specs}
    typer.echo(f"union {result.union:,} of {result.model_count:,} rows")
    for item in result.intersections:
        typer.echo(f"  {item.count:>10,}  only {' ∩ '.join(label[i] for i in item.segment_ids)}")
    for pair in result.pairs:
        typer.echo(
            f"  {label[pair.a]} ∩ {label[pair.b]}: {pair.count:,} ({pair.share_of_a:.1%} of the first)"
        )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def register(app: typer.Typer) -> None:
    app.add_typer(segment_app, name="segment")
