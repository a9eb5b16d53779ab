"""What a worker calls to execute one run.

The default is the sync runner (:func:`sluice.sync.runner.execute_run`): it claims the run, runs
extract → validate → diff → plan → load → commit with heartbeats and cancel checks at batch
boundaries, and finishes it. ``SLUICE_RUN_EXECUTOR=module:function`` swaps in another callable
with the same signature (the queue and scheduler tests use :mod:`sluice.jobs.testing`).
"""

from __future__ import annotations

import importlib
from typing import Protocol

from sluice.core.errors import SettingsError
from sluice.core.settings import Settings
from sluice.store.db import Database

DEFAULT_EXECUTOR = "sluice.sync.runner:execute_run"


class Executor(Protocol):
    """Executes run ``run_id`` to a final state (or returns None when it could not claim it)."""

    def __call__(self, database: Database, settings: Settings, run_id: str, *, worker: str) -> str | None: ...


def load_executor(path: str) -> Executor:
    """Import ``module:function``."""
    module_name, _, function_name = path.partition(":")
    try:
        executor: Executor = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError, ValueError):
        raise SettingsError(f"invalid setting SLUICE_RUN_EXECUTOR: can not import '{path}'") from None
    return executor


def resolve_executor(settings: Settings) -> Executor:
    """The executor the settings name, else the sync runner."""
    return load_executor(settings.run_executor or DEFAULT_EXECUTOR)
