"""``sluice bench predictions``: churn, LTV and recommendations on the demo warehouse vs naive baselines.

Builds a demo warehouse of N users (planted churn, spend and category signal), seeds the demo models
in a scratch control database, and runs the three predictors through the same pipeline the jobs
use (features in DuckDB, LightGBM, co-occurrence), each evaluated on a time-based holdout:

- churn: ROC AUC of the model vs the recency-rank baseline (days since the last purchase);
- LTV: MAE of the model vs the last-period baseline (spend over the previous horizon);
- recommendations: precision@10 of co-occurrence vs the most popular products.

Last line: ``RESULT predictions churn_auc=<…> baseline_auc=<…> recs_p_at_10=<…> pop_p_at_10=<…>``;
the LTV MAE pair and the margins are printed just before. Exits 1 when the churn or LTV model does
not beat its baseline.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

AS_OF = date(2026, 11, 23)
COMPLETED = "status = 'completed'"


def _prepare(users: int, work: Path) -> tuple[Any, str, str]:
    from sluice.demo.models import seed_demo_models
    from sluice.demo.warehouse import build_demo_warehouse
    from sluice.store.db import Database
    from sluice.store.migrate import ensure_default_workspace, upgrade
    from sluice.store.tables.sources import Source

    path = work / "demo.duckdb"
    typer.echo(f"building a demo warehouse of {users:,} users (as of {AS_OF})")
    build_demo_warehouse(users=users, seed=42, path=path, as_of=AS_OF)
    database = Database(f"sqlite:///{work / 'control.db'}", "bench-secret-key")
    upgrade(database)
    with database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(database, workspace_id, path)
    with database.session() as session:
        source_id = session.query(Source).filter_by(workspace_id=workspace_id).one().id
    return database, workspace_id, source_id


def register(bench_app: typer.Typer) -> None:
    def bench_predictions(
        users: int = typer.Option(20_000, min=1000, help="Users in the demo warehouse."),
        horizon: int = typer.Option(90, min=7, help="Prediction horizon in days."),
    ) -> None:
        """Churn AUC, LTV MAE and recommendations precision@10 against naive baselines (demo data)."""
        from sluice.models.stored import load_catalog
        from sluice.predictions.pipeline import run_predictor
        from sluice.predictions.spec import PredictorConfig, PredictorKind

        now = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
        config = PredictorConfig(horizon_days=horizon, purchase_filter=COMPLETED)
        results: dict[PredictorKind, dict[str, Any]] = {}
        with tempfile.TemporaryDirectory(prefix="sluice-bench-") as scratch:
            database, workspace_id, source_id = _prepare(users, Path(scratch))
            with database.session() as session, load_catalog(session, workspace_id, source_id) as catalog:
                for kind in PredictorKind:
                    started = time.perf_counter()
                    result = run_predictor(catalog, "users", kind, config, now)
                    seconds = time.perf_counter() - started
                    results[kind] = result.metrics
                    top = ", ".join(
                        f"{item['feature']} {item['importance']:.2f}" for item in result.importance[:5]
                    )
                    typer.echo(f"{kind.value:16} {seconds:6.1f}s  scored {result.scores.num_rows:,} users")
                    if top:
                        typer.echo(f"{'':16} top features: {top}")
            database.dispose()
        churn, ltv, recs = (results[kind] for kind in PredictorKind)
        typer.echo(
            f"churn: AUC {churn['auc']} vs recency baseline {churn['baseline_auc']} "
            f"(holdout {churn['holdout_users']:,} users, churn rate {churn['churn_rate']}, Brier {churn['brier']})"
        )
        typer.echo(
            "churn lift by decile (10 = riskiest): " + " ".join(f"{r['lift']:.2f}" for r in churn["lift"])
        )
        typer.echo(
            f"ltv: MAE {ltv['mae']} vs last-period baseline {ltv['baseline_mae']} (mean spend {ltv['mean_actual']})"
        )
        typer.echo(
            "ltv calibration (predicted/actual per decile): "
            + " ".join(f"{r['predicted']:.0f}/{r['actual']:.0f}" for r in ltv["calibration"])
        )
        typer.echo(
            f"recommendations: precision@10 {recs['precision_at_k']} vs popularity {recs['baseline_precision_at_k']}, "
            f"recall@10 {recs['recall_at_k']} vs {recs['baseline_recall_at_k']} ({recs['evaluated_users']:,} users)"
        )
        beaten = churn["auc"] > churn["baseline_auc"] and ltv["mae"] < ltv["baseline_mae"]
        typer.echo(
            f"margins: churn AUC +{churn['auc'] - churn['baseline_auc']:.4f}, "
            f"LTV MAE -{(1 - ltv['mae'] / ltv['baseline_mae']) * 100:.1f}% ({'beats' if beaten else 'DOES NOT beat'} "
            "both baselines)"
        )
        typer.echo(
            f"RESULT predictions churn_auc={churn['auc']:.4f} baseline_auc={churn['baseline_auc']:.4f} "
            f"recs_p_at_10={recs['precision_at_k']:.4f} pop_p_at_10={recs['baseline_precision_at_k']:.4f}"
        )
        if not beaten:
            raise typer.Exit(1)

    bench_app.command("predictions")(bench_predictions)
