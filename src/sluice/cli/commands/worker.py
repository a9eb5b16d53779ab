"""``sluice worker``: execute queued runs (and keep schedules ticking) in the foreground."""

from __future__ import annotations

import typer

from sluice.cli.context import startup


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        concurrency: int | None = typer.Option(
            None, min=1, max=64, help="Runs executed at once (default: SLUICE_WORKER_CONCURRENCY or 2)."
        ),
        schedule: bool = typer.Option(
            True, "--schedule/--no-schedule", help="Also tick schedules, probes and the reconciler."
        ),
        name: str | None = typer.Option(None, help="Worker name shown on runs (default: host:pid)."),
    ) -> None:
        """Consume the job queue: Redis with SLUICE_REDIS_URL (any number of workers, any machine),
        else the local SQLite queue that `sluice serve` also consumes. Stop with Ctrl-C (running
        runs finish first) or SIGTERM."""
        from sluice.jobs.runtime import JobRuntime

        settings, database = startup()
        if concurrency is not None:
            settings = settings.model_copy(update={"worker_concurrency": concurrency})
        runtime = JobRuntime(database, settings, worker_name=name)
        typer.echo(
            f"Sluice worker {runtime.worker_name}: {runtime.queue.backend} queue '{settings.queue_name}', "
            f"{settings.worker_concurrency} at once, schedules {'on' if schedule else 'off'}"
        )
        runtime.run_worker(schedule=schedule)
