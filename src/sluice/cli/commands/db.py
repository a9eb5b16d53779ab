"""``sluice db``: control-plane database maintenance."""

from __future__ import annotations

import typer

from sluice.cli.context import startup

db_app = typer.Typer(help="Control-plane database.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the control-plane schema to the newest revision."""
    _, database = startup(migrate=False)
    from sluice.store.migrate import upgrade

    upgrade(database)
    safe_url = database.engine.url.render_as_string(hide_password=True)
    typer.echo(f"database is up to date: {safe_url}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
