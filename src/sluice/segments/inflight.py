"""Superseded previews: the builder's newer preview stops the older one still running.

The segment builder previews as the user edits (debounced) and tags its requests with a
``preview_key`` (one per open builder). When a preview arrives while an older one with the same
key, from the same user, is still running, the older query is interrupted where the warehouse
allows it (DuckDB, PostgreSQL) and answers 409 ``superseded``; elsewhere it simply finishes and
the builder ignores it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sluice.core.errors import Conflict
from sluice.warehouse.connection import Warehouse

STOP_INTERVAL_SECONDS = 0.1
STOP_TIMEOUT_SECONDS = 30.0


class PreviewSuperseded(Conflict):
    """A newer preview from the same builder replaced this one."""

    code = "superseded"
    title = "Preview superseded"


@dataclass
class _Running:
    warehouse: Warehouse
    superseded: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Cancel the connection, interrupting again until the preview has left (a query may
        start just after the first interrupt)."""
        self.superseded = True
        self.warehouse.cancel()

        def keep_interrupting() -> None:
            for _ in range(int(STOP_TIMEOUT_SECONDS / STOP_INTERVAL_SECONDS)):
                if self.done.wait(STOP_INTERVAL_SECONDS):
                    return
                self.warehouse.interrupt()

        threading.Thread(target=keep_interrupting, name="sluice-preview-stop", daemon=True).start()


class InflightPreviews:
    """Previews running now, by (workspace, principal, preview key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str, str], _Running] = {}

    @contextmanager
    def track(self, key: tuple[str, str, str] | None, warehouse: Warehouse | None) -> Iterator[None]:
        """Run a preview under ``key``: interrupt the previous one, and report if this one is interrupted."""
        if key is None or warehouse is None:
            yield
            return
        mine = _Running(warehouse)
        with self._lock:
            previous = self._running.get(key)
            self._running[key] = mine
        if previous is not None:
            previous.stop()
        try:
            yield
        except Exception:
            if mine.superseded:
                raise PreviewSuperseded("a newer preview from the same builder replaced this one") from None
            raise
        finally:
            mine.done.set()
            with self._lock:
                if self._running.get(key) is mine:
                    del self._running[key]
        if mine.superseded:
            raise PreviewSuperseded("a newer preview from the same builder replaced this one")

    def running(self) -> int:
        """How many tracked previews run now (tests, metrics)."""
        with self._lock:
            return len(self._running)


INFLIGHT_PREVIEWS = InflightPreviews()
