"""``sluice serve``: run the API and web app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sluice.cli.context import startup

if TYPE_CHECKING:
    from sluice.core.settings import Settings
    from sluice.jobs.runtime import JobRuntime
    from sluice.store.db import Database


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str | None = typer.Option(None, help="Interface to bind (default: SLUICE_HOST or 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default: SLUICE_PORT or 8000)."),
        jobs: bool = typer.Option(
            True,
            "--jobs/--no-jobs",
            help="Run schedules here, and execute runs here unless SLUICE_REDIS_URL sends them to workers.",
        ),
    ) -> None:
        """Start the Sluice server (API under /api/v1, web app at /)."""
        settings, database = startup()
        run_server(settings, database, host=host, port=port, jobs=jobs)


def run_server(
    settings: Settings,
    database: Database,
    *,
    host: str | None = None,
    port: int | None = None,
    jobs: bool = True,
) -> None:
    """Serve the API and web app (and the embedded job runtime) until interrupted."""
    import uvicorn

    from sluice.api.app import create_app
    from sluice.auth.bootstrap import first_start

    bind_host = host or settings.host
    bind_port = port or settings.port
    first_owner = first_start(settings.model_copy(update={"host": bind_host, "port": bind_port}), database)
    if first_owner:
        typer.secho(first_owner, fg="yellow")
    typer.echo(f"Sluice listening on http://{bind_host}:{bind_port}  (API docs: /api/v1/docs)")
    runtime = _start_jobs(settings, database) if jobs else None
    try:
        uvicorn.run(create_app(settings, database), host=bind_host, port=bind_port, log_level="warning")
    finally:
        if runtime is not None:
            runtime.stop()


def _start_jobs(settings: Settings, database: Database) -> JobRuntime:
    """The embedded job runtime: the scheduler always; queue consumers only on the local SQLite queue."""
    from sluice.jobs.runtime import JobRuntime

    runtime = JobRuntime(database, settings)
    consume = runtime.queue.backend == "sqlite"
    runtime.start(consume=consume, schedule=True)
    where = "here" if consume else "by `sluice worker` processes (Redis queue)"
    typer.echo(f"Jobs: schedules tick here; runs are executed {where}")
    return runtime
