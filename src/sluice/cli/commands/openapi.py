"""``sluice openapi``: print the OpenAPI document of the REST API (the web app's types come from it)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import typer
from pydantic import SecretStr

from sluice.api.app import create_app
from sluice.core.settings import Settings
from sluice.store.db import Database


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the API, built without touching any real data dir or database."""
    with tempfile.TemporaryDirectory(prefix="sluice-openapi-") as scratch:
        settings = Settings(data_dir=Path(scratch), secret_key=SecretStr("openapi-dump-only"))
        database = Database("sqlite://", settings.resolved_secret_key)
        try:
            return create_app(settings, database).openapi()
        finally:
            database.dispose()


def render_openapi() -> str:
    """The document as stable, diff-friendly JSON text (sorted keys, two-space indent, final newline)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def register(app: typer.Typer) -> None:
    @app.command("openapi")
    def openapi(
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write to this file instead of stdout."
        ),
    ) -> None:
        """Print the OpenAPI document of the REST API (JSON)."""
        text = render_openapi()
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text)
            typer.echo(f"wrote {output}", err=True)
