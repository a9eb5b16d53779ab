"""Running the ``sluice`` CLI in-process from tests (config as code, identity, remote segments)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from typer.testing import CliRunner, Result

if TYPE_CHECKING:
    import pytest


def invoke(*args: str, cwd: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Result:
    """``sluice <args>`` in ``cwd`` with ``env`` set.

    The CLI binds logging to the runner's temporary stderr; the process's logging set-up is put
    back afterwards so later tests log normally.
    """
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
