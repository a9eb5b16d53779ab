"""``sluice tokens``: service tokens for automation (the value is printed once)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from sluice.auth.accounts import find_workspace
from sluice.auth.audit import acting_as
from sluice.auth.permissions import Role
from sluice.auth.tokens import issue_token
from sluice.cli.commands.users import cli_actor
from sluice.cli.context import startup
from sluice.core.errors import NotFound
from sluice.store.tables.auth import ApiToken

tokens_app = typer.Typer(
    help="API tokens (Authorization: Bearer …) for the CLI and automation.", no_args_is_help=True
)


@tokens_app.command("create")
def create(
    name: str = typer.Argument(..., help="What the token is for (e.g. 'airflow')."),
    role: Role = typer.Option(Role.OPERATOR, help="Role the token acts with."),
    workspace: str = typer.Option("default", help="Workspace id or slug."),
    expires_in_days: int | None = typer.Option(None, min=1, help="Expire after this many days."),
) -> None:
    """Create a service token and print it once (only a digest is kept)."""
    _, database = startup()
    with acting_as(cli_actor()), database.session() as session:
        target = find_workspace(session, workspace)
        issued = issue_token(
            session,
            workspace_id=target.id,
            name=name,
            kind="service",
            role=role,
            expires_in_days=expires_in_days,
        )
    typer.echo(f"token {issued.record.id} ({role.value} in {target.slug}); it is shown only now:", err=True)
    typer.echo(issued.plain)


@tokens_app.command("list")
def list_tokens(workspace: str = typer.Option("default", help="Workspace id or slug.")) -> None:
    """Tokens of a workspace (never their values)."""
    _, database = startup()
    table = Table("id", "name", "kind", "role", "prefix", "last used", "revoked")
    with database.session() as session:
        target = find_workspace(session, workspace)
        for token in session.scalars(
            select(ApiToken).where(ApiToken.workspace_id == target.id).order_by(ApiToken.id)
        ):
            used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
            revoked = "yes" if token.revoked_at else ""
            table.add_row(token.id, token.name, token.kind, token.role, token.token_prefix, used, revoked)
    Console(width=160).print(table)


@tokens_app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="Token id (from 'sluice tokens list').")) -> None:
    """Revoke a token at once."""
    _, database = startup()
    with acting_as(cli_actor()), database.session() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"token {token_id!r} not found")
        token.revoked_at = token.revoked_at or datetime.now(UTC)
    typer.echo(f"revoked {token_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
