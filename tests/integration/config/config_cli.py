"""Running the ``sluice`` CLI in-process for the config-as-code tests (logging restored after)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result


def invoke(*args: str, cwd: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Result:
    """``sluice <args>`` in ``cwd`` with ``env`` set; the CLI's logging set-up is undone afterwards."""
    from sluice.cli.main import app

    monkeypatch.chdir(cwd)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    saved_structlog = structlog.get_config()
    saved_handlers = list(logging.getLogger().handlers)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        structlog.configure(**saved_structlog)
        logging.getLogger().handlers[:] = saved_handlers
