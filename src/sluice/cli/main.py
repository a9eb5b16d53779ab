"""Entry point of the ``sluice`` command. Sub-commands live in :mod:`sluice.cli.commands`.

Each module there exposes ``register(app)``; modules are discovered, so adding a command
touches no shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from sluice import __version__
from sluice.cli import commands
from sluice.core.errors import SluiceError

app = typer.Typer(
    name="sluice",
    help="Sluice: composable CDP. Models, segments and diff-based activations from your warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sluice {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Sluice command line."""


for _info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands.__name__}.{_info.name}").register(app)


def main() -> None:
    """Run the CLI, printing user-facing errors as one line instead of a traceback."""
    try:
        app(standalone_mode=False)
    except SluiceError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
