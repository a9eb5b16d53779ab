"""Structured logging (structlog) with request/run ids and secret redaction."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any

import structlog

from sluice.core.redaction import redact

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def _add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = request_id_var.get()
    if request_id and "request_id" not in event:
        event["request_id"] = request_id
    return event


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    redacted: dict[str, Any] = redact(event)
    return redacted


class _CurrentStderrLogger:
    """Writes each line to whatever ``sys.stderr`` is *now* (test runners and in-process CLI runs swap
    and close it; a logger holding the old stream would fail with "I/O operation on closed file")."""

    def __init__(self, *_args: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def configure_logging(level: str = "info", fmt: str = "console") -> None:
    """Configure structlog and the standard library root logger once per process."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_request_id,
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_CurrentStderrLogger,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # One line per vendor request drowns the run's own lines; connectors log retries themselves.
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; keyword arguments become fields of the log line."""
    return structlog.get_logger(name)


def bind_context(**fields: Any) -> AbstractContextManager[None]:
    """Add ``fields`` (e.g. ``run_id``, ``activation_id``) to every log line inside the ``with`` block."""
    return structlog.contextvars.bound_contextvars(**fields)
