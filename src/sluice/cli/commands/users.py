"""``sluice users``: accounts and memberships from the command line (recorded in the audit log as the CLI)."""

from __future__ import annotations

import getpass

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from sluice.auth.accounts import add_member, create_user, find_user, find_workspace, workspaces_of
from sluice.auth.audit import Actor, acting_as
from sluice.auth.credentials import hash_password
from sluice.auth.permissions import Role
from sluice.cli.context import startup
from sluice.core.errors import NotFound
from sluice.store.tables.auth import User

users_app = typer.Typer(help="User accounts and their workspace roles.", no_args_is_help=True)


def cli_actor() -> Actor:
    """How changes made from the command line appear in the audit log."""
    return Actor("cli", None, f"cli:{getpass.getuser()}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat password", hide_input=True) != first:
        raise typer.BadParameter("the two passwords differ")
    return str(first)


@users_app.command("create")
def create(
    email: str = typer.Argument(..., help="Email address (the sign-in name)."),
    name: str = typer.Option("", help="Display name."),
    role: Role = typer.Option(Role.VIEWER, help="Role in the workspace."),
    workspace: str = typer.Option("default", help="Workspace id or slug."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    no_password: bool = typer.Option(False, "--no-password", help="Single sign-on only; no local password."),
) -> None:
    """Create a user with a role in a workspace."""
    password = None if no_password else _read_password(password_stdin)
    _, database = startup()
    with acting_as(cli_actor()), database.session() as session:
        target = find_workspace(session, workspace)
        user = create_user(session, email, name=name, password=password)
        add_member(session, user, target.id, role)
    typer.echo(f"created {user.email} ({role.value} of {target.slug})")


@users_app.command("grant")
def grant(
    email: str = typer.Argument(...),
    role: Role = typer.Option(..., help="Role to give."),
    workspace: str = typer.Option("default", help="Workspace id or slug."),
) -> None:
    """Give an existing user a role in a workspace (or change it)."""
    _, database = startup()
    with acting_as(cli_actor()), database.session() as session:
        user = find_user(session, email)
        if user is None:
            raise NotFound(f"no user with email {email!r}")
        target = find_workspace(session, workspace)
        add_member(session, user, target.id, role)
    typer.echo(f"{user.email} is now {role.value} of {target.slug}")


@users_app.command("set-password")
def set_password(
    email: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
) -> None:
    """Set a user's password (e.g. after a lost password)."""
    password = _read_password(password_stdin)
    _, database = startup()
    with acting_as(cli_actor()), database.session() as session:
        user = find_user(session, email)
        if user is None:
            raise NotFound(f"no user with email {email!r}")
        user.password_hash = hash_password(password)
    typer.echo(f"password of {user.email} changed")


@users_app.command("list")
def list_users() -> None:
    """Every user with their workspaces and roles."""
    _, database = startup()
    table = Table("email", "name", "workspaces", "last sign-in")
    with database.session() as session:
        for user in session.scalars(select(User).order_by(User.email)):
            roles = ", ".join(f"{w.slug}:{r.value}" for w, r in workspaces_of(session, user.id))
            last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
            table.add_row(user.email, user.name, roles, last)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
