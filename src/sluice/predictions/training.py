"""Churn and LTV models (LightGBM) trained with a time-based holdout.

Horizon ``N``, reference time ``now``, ``W`` training windows. Cut-offs lie ``k·N`` before ``now``.
The model is evaluated by training on the cut-offs ``2N … (W+1)N`` (features before each, labels
in the horizon after it; every such label ends by ``now - N``) and testing on the cut-off ``now - N``
(labels from ``[now - N, now)``), so the holdout lies entirely after the training labels. Stacking
several windows covers seasons (one window alone learns the churn rate of one quarter). The model
that scores is then refitted on the ``W`` most recent labelled cut-offs (``N … W·N``) with the same
settings and applied to features at ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pyarrow as pa

from sluice.predictions.features import KEY
from sluice.predictions.metrics import churn_metrics, deciles, ltv_metrics

LABELS = ("future_purchases", "future_spend")
SEED = 17
PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.04,
    "num_leaves": 15,
    "min_child_samples": 20,
    "subsample": 0.9,
    "subsample_freq": 1,
    "colsample_bytree": 0.9,
    "random_state": SEED,
    "n_jobs": 1,
    "verbose": -1,
}


@dataclass(frozen=True)
class Frame:
    """Feature matrix of one cut-off, with keys and (for labelled cut-offs) labels."""

    keys: list[str]
    features: pd.DataFrame
    labels: pd.DataFrame | None


def to_frame(table: pa.Table, zero_columns: set[str], categories: dict[str, list[str]]) -> Frame:
    """An Arrow feature table as a LightGBM-ready frame (counts 0-filled, strings as categories)."""
    data = table.to_pandas()
    keys = [str(value) for value in data.pop(KEY).tolist()]
    labels = data[list(LABELS)].astype(float) if all(name in data for name in LABELS) else None
    features = data.drop(columns=[name for name in LABELS if name in data])
    for column in features.columns:
        if column in categories:
            features[column] = pd.Categorical(features[column], categories=categories[column])
        else:
            values = pd.to_numeric(features[column], errors="coerce").astype(float)
            features[column] = values.fillna(0.0) if column in zero_columns else values
    return Frame(keys=keys, features=features, labels=labels)


def stack(frames: list[Frame]) -> Frame:
    """Several cut-offs' frames as one training set (a user appears once per cut-off)."""
    labels = [frame.labels for frame in frames if frame.labels is not None]
    return Frame(
        keys=[key for frame in frames for key in frame.keys],
        features=pd.concat([frame.features for frame in frames], ignore_index=True),
        labels=pd.concat(labels, ignore_index=True) if len(labels) == len(frames) else None,
    )


@dataclass(frozen=True)
class Fitted:
    """A model fitted for one task, with holdout metrics and feature importance (gain)."""

    task: str
    model: Any
    metrics: dict[str, Any]
    importance: list[dict[str, float | str]]

    def predict(self, frame: Frame) -> np.ndarray:
        if self.task == "churn":
            return np.asarray(self.model.predict_proba(frame.features)[:, 1], dtype=float)
        values = np.asarray(self.model.predict(frame.features), dtype=float)
        return np.asarray(np.clip(values, 0.0, None), dtype=float)


def _estimator(task: str) -> Any:
    import lightgbm

    if task == "churn":
        return lightgbm.LGBMClassifier(**PARAMS)
    return lightgbm.LGBMRegressor(objective="tweedie", tweedie_variance_power=1.3, **PARAMS)


def _target(task: str, labels: pd.DataFrame) -> np.ndarray:
    if task == "churn":
        return np.asarray(labels["future_purchases"].to_numpy() == 0, dtype=int)
    return np.asarray(labels["future_spend"].to_numpy(), dtype=float)


def _importance(model: Any, columns: list[str]) -> list[dict[str, float | str]]:
    gains = model.booster_.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    ranked = sorted(zip(columns, gains, strict=True), key=lambda item: -item[1])
    return [{"feature": name, "importance": round(float(gain) / total, 4)} for name, gain in ranked]


def _baseline(task: str, frame: Frame, horizon_days: int) -> np.ndarray:
    if task == "churn":
        recency = frame.features["days_since_last_purchase"].to_numpy(dtype=float)
        return np.asarray(np.nan_to_num(recency, nan=1e9), dtype=float)
    column = f"spend_{horizon_days}d"
    if column in frame.features:
        return np.asarray(frame.features[column].to_numpy(dtype=float), dtype=float)
    return np.zeros(len(frame.keys))


def fit(task: str, train: Frame, holdout: Frame, latest: Frame, horizon_days: int) -> Fitted:
    """Evaluate on ``holdout`` a model trained on ``train``, then refit on ``latest`` (``churn``/``ltv``)."""
    assert train.labels is not None
    assert holdout.labels is not None
    assert latest.labels is not None
    categorical = [
        c for c in train.features.columns if isinstance(train.features[c].dtype, pd.CategoricalDtype)
    ]
    evaluated = _estimator(task).fit(
        train.features, _target(task, train.labels), categorical_feature=categorical or "auto"
    )
    actual = _target(task, holdout.labels)
    baseline = _baseline(task, holdout, horizon_days)
    if task == "churn":
        metrics = churn_metrics(actual, evaluated.predict_proba(holdout.features)[:, 1], baseline)
    else:
        predicted = np.clip(evaluated.predict(holdout.features), 0.0, None)
        metrics = ltv_metrics(actual, predicted, baseline)
    metrics["training_users"] = len(train.keys)
    final = _estimator(task).fit(
        latest.features, _target(task, latest.labels), categorical_feature=categorical or "auto"
    )
    return Fitted(
        task=task, model=final, metrics=metrics, importance=_importance(final, list(latest.features.columns))
    )


def score_table(fitted: Fitted, frame: Frame, columns: tuple[str, str]) -> pa.Table:
    """Scores for every user of ``frame``: the prediction and its decile (10 = highest)."""
    values = fitted.predict(frame)
    value_column, decile_column = columns
    return pa.table(
        {
            KEY: pa.array(frame.keys, pa.string()),
            value_column: pa.array(np.round(values, 6), pa.float64()),
            decile_column: pa.array(deciles(values), pa.int64()),
        }
    )
