"""Churn and LTV metrics: AUC with ties, deciles, lift and calibration tables, baselines side by side."""

from __future__ import annotations

import numpy as np

from sluice.predictions.metrics import auc, churn_metrics, deciles, ltv_metrics


def test_auc_counts_pairs_and_shares_ties() -> None:
    labels = np.array([0, 0, 1, 1])
    assert auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    # One positive beats one negative, ties the other: (1 + 0.5) / 2 pairs... of 4 pairs.
    assert auc(np.array([0, 0, 1]), np.array([0.1, 0.5, 0.5])) == 0.75
    assert auc(np.array([1, 1]), np.array([0.2, 0.3])) is None


def test_auc_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + labels * 0.3, 1)  # rounding makes many ties
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (
        positives[:, None] == negatives[None, :]
    ).sum()
    assert auc(labels, scores) == round(wins / (len(positives) * len(negatives)), 4)


def test_deciles_split_ranked_scores_evenly() -> None:
    groups = deciles(np.arange(100, 0, -1, dtype=float))
    assert groups[0] == 10  # the highest score
    assert groups[-1] == 1
    assert np.bincount(groups)[1:].tolist() == [10] * 10
    assert deciles(np.array([])).tolist() == []


def test_churn_metrics_report_model_and_baseline() -> None:
    labels = np.array([1] * 50 + [0] * 50)
    perfect = np.linspace(1, 0, 100)
    baseline = np.linspace(0, 1, 100)
    report = churn_metrics(labels, perfect, baseline)
    assert report["auc"] == 1.0
    assert report["baseline_auc"] == 0.0
    assert report["churn_rate"] == 0.5
    top = next(row for row in report["lift"] if row["decile"] == 10)
    assert top["lift"] == 2.0  # every user of the top decile churned, twice the base rate
    assert [row["decile"] for row in report["calibration"]] == list(range(1, 11))


def test_ltv_metrics_compare_mae_with_the_last_period() -> None:
    actual = np.array([0.0, 10.0, 20.0, 30.0])
    report = ltv_metrics(actual, np.array([1.0, 9.0, 21.0, 29.0]), np.array([30.0, 0.0, 0.0, 60.0]))
    assert report["mae"] == 1.0
    assert report["baseline_mae"] == 22.5
    assert report["calibration"][-1]["actual"] == 30.0
