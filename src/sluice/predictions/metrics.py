"""Honest metrics for churn and LTV models, each next to a naive baseline.

Churn: ROC AUC, Brier score, calibration (mean predicted vs observed churn per predicted decile)
and lift by decile (observed churn rate in a decile / overall rate), for the model and for the
recency-rank baseline (the longer since the last purchase, the likelier the churn).
LTV: mean absolute error and decile calibration (mean predicted vs actual spend per predicted
decile), against the last-period baseline (spend over the next N days = spend over the last N).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DECILES = 10


def deciles(scores: np.ndarray) -> np.ndarray:
    """Decile of each score, 1 (lowest) to 10 (highest); ties broken by position (stable)."""
    if len(scores) == 0:
        return np.zeros(0, dtype=int)
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores), dtype=int)
    ranks[order] = np.arange(len(scores))
    return 1 + (ranks * DECILES) // len(scores)


def _by_decile(scores: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> list[dict[str, float]]:
    groups = deciles(scores)
    table = []
    for decile in range(1, DECILES + 1):
        mask = groups == decile
        if not mask.any():
            continue
        table.append(
            {
                "decile": decile,
                "users": int(mask.sum()),
                "predicted": round(float(predicted[mask].mean()), 4),
                "actual": round(float(actual[mask].mean()), 4),
            }
        )
    return table


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC (Mann-Whitney U with tied scores sharing their average rank); None with one class.

    Plain numpy: importing scikit-learn costs seconds in every process that only wants a metric.
    """
    positives = labels == 1
    n_pos = int(positives.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    average_rank = upper - (counts - 1) / 2.0
    ranks = average_rank[inverse]
    u_statistic = float(ranks[positives].sum()) - n_pos * (n_pos + 1) / 2.0
    return round(u_statistic / (n_pos * n_neg), 4)


def lift_by_decile(labels: np.ndarray, scores: np.ndarray) -> list[dict[str, float]]:
    """Per score decile (10 = highest score): observed rate and lift over the overall rate."""
    base = float(labels.mean()) if len(labels) else 0.0
    rows = _by_decile(scores, scores, labels)
    for row in rows:
        row["lift"] = round(row["actual"] / base, 3) if base else 0.0
    return rows


def churn_metrics(labels: np.ndarray, probabilities: np.ndarray, baseline: np.ndarray) -> dict[str, Any]:
    """AUC, Brier score, calibration and lift of the model and of the recency baseline."""
    model_lift = lift_by_decile(labels, probabilities)
    return {
        "holdout_users": len(labels),
        "churn_rate": round(float(labels.mean()), 4) if len(labels) else None,
        "auc": auc(labels, probabilities),
        "baseline_auc": auc(labels, baseline),
        "brier": round(float(((probabilities - labels) ** 2).mean()), 4) if len(labels) else None,
        "calibration": [
            {k: row[k] for k in ("decile", "users", "predicted", "actual")} for row in model_lift
        ],
        "lift": [{"decile": row["decile"], "lift": row["lift"]} for row in model_lift],
        "baseline_lift": [
            {"decile": row["decile"], "lift": row["lift"]} for row in lift_by_decile(labels, baseline)
        ],
        "baseline": "recency rank (days since the last purchase)",
    }


def ltv_metrics(actual: np.ndarray, predicted: np.ndarray, baseline: np.ndarray) -> dict[str, Any]:
    """MAE and decile calibration of the model and of the last-period baseline."""
    return {
        "holdout_users": len(actual),
        "mean_actual": round(float(actual.mean()), 4) if len(actual) else None,
        "mae": round(float(np.abs(actual - predicted).mean()), 4) if len(actual) else None,
        "baseline_mae": round(float(np.abs(actual - baseline).mean()), 4) if len(actual) else None,
        "calibration": _by_decile(predicted, predicted, actual),
        "baseline_calibration": _by_decile(baseline, baseline, actual),
        "baseline": "last-period spend (spend over the previous horizon)",
    }
