"""The job queue: Huey carrying run ids, on SQLite (one machine) or Redis (scale out).

Without ``SLUICE_REDIS_URL`` the queue is a SQLite file in the data dir, consumed by the worker
threads embedded in ``sluice serve``. With it, the queue lives in Redis and any number of
``sluice worker`` processes on any number of machines consume it. Messages carry a run id and
nothing else: the ``runs`` table is the source of truth, and claiming a run is a conditional
UPDATE, so a message delivered twice (or for a cancelled run) does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

from sluice.core.settings import Settings

TASK_NAME = "sluice.execute_run"
REFRESH_TASK_NAME = "sluice.refresh_remote_segment"
QUEUE_FILE = "queue.db"


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer living inside another program (``sluice serve``): it leaves signals alone."""

    def _set_signal_handlers(self) -> None:
        return None


class RunQueue:
    """A Huey queue with the two tasks Sluice needs: execute the run with this id, and refresh
    the remote segment with this refresh id."""

    def __init__(
        self,
        huey: Huey,
        handler: Callable[[str], None],
        refresh_handler: Callable[[str], None] | None = None,
    ) -> None:
        self.huey = huey
        self._task = huey.task(name=TASK_NAME, retries=0)(handler)
        self._refresh_task = (
            huey.task(name=REFRESH_TASK_NAME, retries=0)(refresh_handler) if refresh_handler else None
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        handler: Callable[[str], None],
        refresh_handler: Callable[[str], None] | None = None,
    ) -> RunQueue:
        """Redis when ``SLUICE_REDIS_URL`` is set, else SQLite in the data dir."""
        huey: Huey
        if settings.redis_url:
            huey = RedisHuey(settings.queue_name, url=settings.redis_url, results=False)
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            huey = SqliteHuey(
                settings.queue_name, filename=str((settings.data_dir / QUEUE_FILE).resolve()), results=False
            )
        return cls(huey, handler, refresh_handler)

    @property
    def backend(self) -> str:
        """``redis`` or ``sqlite``."""
        return "redis" if isinstance(self.huey, RedisHuey) else "sqlite"

    def enqueue(self, run_id: str) -> None:
        """Hand a run id to the workers."""
        self._task(run_id)

    def enqueue_refresh(self, refresh_id: str) -> None:
        """Hand a remote segment refresh id to the workers."""
        if self._refresh_task is None:
            raise RuntimeError("this queue has no refresh handler")
        self._refresh_task(refresh_id)

    def pending(self) -> int:
        """Messages waiting in the queue."""
        return int(self.huey.pending_count())

    def consumer(self, workers: int, *, embedded: bool) -> Any:
        """A Huey consumer with ``workers`` threads; ``embedded`` leaves signal handling to the host."""
        kind = _EmbeddedConsumer if embedded else Consumer
        return kind(
            self.huey,
            workers=workers,
            periodic=False,
            worker_type="thread",
            initial_delay=0.1,
            max_delay=1.0,
            check_worker_health=True,
        )
