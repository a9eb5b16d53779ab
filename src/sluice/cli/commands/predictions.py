"""``sluice predictions``: list predictors, train one now, or run the scheduler pass for predictions."""

from __future__ import annotations

import typer

predictions_app = typer.Typer(help="AI predictions: churn, LTV, recommendations.", no_args_is_help=True)
WORKSPACE = typer.Option("default", help="Workspace slug.")


@predictions_app.command("list")
def list_predictors(workspace: str = WORKSPACE) -> None:
    """Predictors with their active version's headline metric."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.predictions.service import predictor_out
    from sluice.store.tables.predictions import Predictor

    _, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        for row in session.scalars(select(Predictor).where(Predictor.workspace_id == workspace_id)):
            out = predictor_out(session, row)
            version = out.active_version
            summary = (
                "not trained"
                if version is None
                else f"version {version.number}: {_headline(version.metrics)}"
            )
            typer.echo(f"{out.name:30} {out.kind.value:16} {summary}")


def _headline(metrics: dict[str, object] | None) -> str:
    metrics = metrics or {}
    pairs = (("auc", "baseline_auc"), ("mae", "baseline_mae"), ("precision_at_k", "baseline_precision_at_k"))
    for model, baseline in pairs:
        if model in metrics:
            return f"{model} {metrics[model]} (baseline {metrics.get(baseline)})"
    return "no metrics"


@predictions_app.command("train")
def train(name: str = typer.Argument(..., help="Predictor name."), workspace: str = WORKSPACE) -> None:
    """Train, evaluate and score a predictor now (a new version, recorded in its run history)."""
    from sqlalchemy import select

    from sluice.cli.context import startup
    from sluice.config.plan import workspace_id_of
    from sluice.core.errors import NotFound
    from sluice.predictions.jobs import execute_with_heartbeat
    from sluice.predictions.runs import queue_version
    from sluice.store.tables.predictions import Predictor, PredictorVersion

    settings, database = startup()
    with database.session() as session:
        workspace_id = workspace_id_of(session, workspace)
        predictor = session.scalar(
            select(Predictor).where(Predictor.workspace_id == workspace_id, Predictor.name == name)
        )
        if predictor is None:
            raise NotFound(f"predictor {name!r} not found")
        version_id = queue_version(session, predictor, trigger="cli").id
    state = execute_with_heartbeat(database, settings, version_id)
    with database.session() as session:
        version = session.get(PredictorVersion, version_id)
        assert version is not None
        if state != "succeeded":
            typer.echo(f"version {version.number} failed: {version.message}", err=True)
            raise typer.Exit(1)
        typer.echo(f"version {version.number} succeeded: {_headline(version.metrics)}")
        for item in (version.feature_importance or [])[:5]:
            typer.echo(f"  {item['feature']:32} {item['importance']:.3f}")


@predictions_app.command("tick")
def tick_command() -> None:
    """Fail lost runs, queue due schedules and execute every queued version (run from cron or a worker)."""
    from sluice.cli.context import startup
    from sluice.predictions.jobs import execute_queued, tick

    settings, database = startup()
    for version_id, state in execute_queued(database, settings, tick(database, settings)).items():
        typer.echo(f"{version_id} {state}")


def register(app: typer.Typer) -> None:
    app.add_typer(predictions_app, name="predictions")
