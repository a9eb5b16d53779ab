"""``sluice openapi`` prints the API's OpenAPI document (the web app's generated types come from it)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sluice.cli.main import app


def test_cli_openapi_prints_the_document_with_api_routes(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["openapi"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/sources" in document["paths"]


def test_cli_openapi_writes_a_stable_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert CliRunner().invoke(app, ["openapi", "-o", str(first)]).exit_code == 0
    assert CliRunner().invoke(app, ["openapi", "-o", str(second)]).exit_code == 0
    assert first.read_text() == second.read_text()
    assert first.read_text().endswith("}\n")
