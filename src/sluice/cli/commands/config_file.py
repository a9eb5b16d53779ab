"""``sluice plan`` and ``sluice apply``: config as code from ``sluice.yaml``."""

from __future__ import annotations

from pathlib import Path

import typer

FILE_OPTION = typer.Option(Path("sluice.yaml"), "--file", "-f", help="Config file (YAML).")


def _changes(path: Path, *, apply: bool) -> None:
    from sluice.cli.context import startup
    from sluice.config.changes import ApplyContext
    from sluice.config.file import load_document
    from sluice.config.plan import apply_plan, make_plan, workspace_id_of

    document = load_document(path)
    _, database = startup()
    with database.session() as session:
        changes = make_plan(session, database.secrets, document)
        if not changes:
            typer.echo("no changes: the workspace matches the file")
            return
        for change in changes:
            typer.echo(change.describe())
        if not apply:
            typer.echo(f"{len(changes)} change(s) planned; run `sluice apply -f {path}` to make them")
            return
        context = ApplyContext(session, workspace_id_of(session, document.workspace), database.secrets)
        try:
            apply_plan(context, changes)
        finally:
            context.close()
    typer.echo(f"applied {len(changes)} change(s)")


def plan(file: Path = FILE_OPTION) -> None:
    """Print what `apply` would change (nothing is written)."""
    _changes(file, apply=False)


def apply(file: Path = FILE_OPTION) -> None:
    """Make the workspace match the file (idempotent: a second apply changes nothing)."""
    _changes(file, apply=True)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("apply")(apply)
