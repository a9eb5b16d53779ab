"""One predictor run on an open catalog: features → fit with holdout → scores (no store access).

:func:`run_predictor` is what the job, the API and ``sluice bench predictions`` call; it returns the
metrics, the feature importance and the scores table (one row per user) to write back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from sluice.models.catalog import ModelCatalog
from sluice.predictions import features as ft
from sluice.predictions.recommendations import recommend
from sluice.predictions.spec import Inputs, PredictorConfig, PredictorKind, resolve_inputs
from sluice.predictions.training import Frame, fit, score_table, stack, to_frame

Progress = Callable[[str, float], None]


@dataclass
class RunResult:
    """What a run produced: metrics, importance, and the scores keyed by the user's primary key."""

    metrics: dict[str, Any]
    importance: list[dict[str, Any]]
    scores: pa.Table
    cutoff: datetime
    outputs: dict[str, str] = field(default_factory=dict)
    """Field name on the users model → column of :attr:`scores`."""


def output_fields(kind: PredictorKind, config: PredictorConfig) -> dict[str, tuple[str, str]]:
    """Fields a predictor adds to the users model: name → (scores column, field type).

    ``field_name`` renames the main field and, for churn and LTV, prefixes the decile field
    (``<field_name>_decile``), so two predictors of one kind can live on the same model.
    """
    if kind == PredictorKind.CHURN:
        return {
            config.field_name or "churn_score": ("score", "float"),
            f"{config.field_name}_decile" if config.field_name else "churn_decile": ("decile", "integer"),
        }
    if kind == PredictorKind.LTV:
        return {
            config.field_name or f"ltv_{config.horizon_days}d": ("score", "float"),
            f"{config.field_name}_decile" if config.field_name else "ltv_decile": ("decile", "integer"),
        }
    return {config.field_name or "recommended_products": ("products", "string")}


def run_predictor(
    catalog: ModelCatalog,
    users_model: str,
    kind: PredictorKind,
    config: PredictorConfig,
    now: datetime,
    progress: Progress | None = None,
) -> RunResult:
    """Train, evaluate on a time-based holdout and score every user as of ``now``."""
    report = progress or (lambda _step, _fraction: None)
    report("reading the models", 0.05)
    inputs = resolve_inputs(catalog, users_model, config)
    now = ft.naive_utc(now)
    outputs = {name: column for name, (column, _) in output_fields(kind, config).items()}
    if kind == PredictorKind.RECOMMENDATIONS:
        result = recommend(catalog, inputs, config, now, report)
        return RunResult(result.metrics, [], result.scores, now, outputs)
    if kind == PredictorKind.LTV and inputs.amount is None:
        raise_missing_amount(inputs)
    horizon = timedelta(days=config.horizon_days)
    plan = ft.plan_features(catalog, inputs, config.horizon_days)
    windows = config.training_windows
    # Cut-off k horizons back, for k = 1 (the holdout) .. windows + 1; features at each, labels after.
    cutoffs = [now - k * horizon for k in range(1, windows + 2)]
    frames: dict[datetime, Frame] = {}
    for number, cutoff in enumerate(cutoffs):
        report(f"building features at {cutoff:%Y-%m-%d}", 0.1 + 0.45 * number / len(cutoffs))
        frames[cutoff] = _frame(catalog, inputs, plan, ft.training_rows(catalog, inputs, plan, cutoff))
    report("building features for scoring", 0.55)
    current = _frame(catalog, inputs, plan, ft.feature_table(catalog, inputs, plan, now))
    report("training", 0.6)
    task = "churn" if kind == PredictorKind.CHURN else "ltv"
    # Evaluate: train on the cut-offs whose labels end before the holdout's features start.
    train = stack([frames[cutoff] for cutoff in cutoffs[1:]])
    # Score: refit on the most recent `windows` labelled cut-offs (the holdout included).
    latest = stack([frames[cutoff] for cutoff in cutoffs[:-1]])
    fitted = fit(task, train, frames[cutoffs[0]], latest, config.horizon_days)
    report("scoring", 0.85)
    scores = score_table(fitted, current, ("score", "decile"))
    metrics = {**fitted.metrics, "horizon_days": config.horizon_days, "scored_users": scores.num_rows}
    metrics["cutoffs"] = {
        "train": [cutoff.isoformat() for cutoff in cutoffs[1:]],
        "holdout": cutoffs[0].isoformat(),
        "scored": now.isoformat(),
    }
    return RunResult(metrics, fitted.importance, scores, now, outputs)


def raise_missing_amount(inputs: Inputs) -> None:
    from sluice.core.errors import InvalidInput

    raise InvalidInput(
        f"LTV needs the amount of each purchase: model {inputs.purchases.link.to_model!r} has no field "
        "with meaning 'revenue'; set amount_field"
    )


def _frame(catalog: ModelCatalog, inputs: Inputs, plan: ft.FeaturePlan, table: Any) -> Frame:
    data = ft.fetch(catalog, table)
    categories = {
        f"user_{ft.safe_name(name)}": plan.vocabulary[f"user:{name}"] for name in plan.user_categories
    }
    return to_frame(data, ft.zero_filled(data.column_names, inputs), categories)
