"""Point-in-time features and labels, computed in the warehouse through Ibis.

For a cut-off time ``T`` every feature reads only rows before ``T`` (purchases, engagement events,
users who had signed up), so a model trained on features at ``T`` with labels from ``[T, T + N)``
never sees the future. One row per user comes back to Python: the feature table.

Features per user: recency (days since the last and the first purchase or event), frequency and
monetary value over windows (30, 90, 365 days and the horizon), average and largest order, tenure,
the user's categorical fields, and categorical mixes (share of purchases per channel/status/…,
counts of engagement events per event name over 90 days).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa

from sluice.models.catalog import ModelCatalog
from sluice.models.expressions import to_ibis
from sluice.predictions.spec import EventInput, Inputs

KEY = "user_key"
DAY_SECONDS = 86400.0
BASE_WINDOWS = (30, 90, 365)
MIX_WINDOW = 90
TOP_VALUES = 8


@dataclass(frozen=True)
class FeaturePlan:
    """The features to build: windows and the category values each mix counts (fixed at training)."""

    horizon_days: int
    windows: tuple[int, ...]
    vocabulary: dict[str, list[str]] = field(default_factory=dict)

    @property
    def user_categories(self) -> list[str]:
        return [name.removeprefix("user:") for name in self.vocabulary if name.startswith("user:")]


def plan_features(catalog: ModelCatalog, inputs: Inputs, horizon_days: int) -> FeaturePlan:
    """Windows and the most frequent values of each categorical field (one small query per field)."""
    vocabulary: dict[str, list[str]] = {}
    users = catalog.table(inputs.users.name, fields=inputs.user_categories)
    for name in inputs.user_categories:
        vocabulary[f"user:{name}"] = _top_values(catalog, users, name)
    purchases = _purchase_rows(catalog, inputs)
    for name in inputs.purchase_categories:
        vocabulary[f"purchases:{name}"] = _top_values(catalog, purchases, name)
    for event in inputs.activity:
        if event.category:
            rows = catalog.table(event.link.to_model, fields=[event.category])
            vocabulary[f"{event.link.name}:{event.category}"] = _top_values(catalog, rows, event.category)
    windows = tuple(sorted({*BASE_WINDOWS, horizon_days}))
    return FeaturePlan(horizon_days=horizon_days, windows=windows, vocabulary=vocabulary)


def _top_values(catalog: ModelCatalog, table: ibis.Table, name: str) -> list[str]:
    rows = table.filter(table[name].notnull())
    counts = (
        rows.group_by(value=rows[name].cast("string"))
        .aggregate(n=rows.count())
        .order_by([ibis.desc("n"), "value"])
        .limit(TOP_VALUES)
    )
    return [str(value) for value in catalog.to_pyarrow(counts).column("value").to_pylist()]


def _purchase_rows(catalog: ModelCatalog, inputs: Inputs) -> ibis.Table:
    link = inputs.purchases.link
    table = catalog.table(link.to_model)
    if inputs.purchase_filter:
        table = table.filter(to_ibis(inputs.purchase_filter, table))
    return table


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without tzinfo (warehouse timestamps are compared as naive UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _age_days(column: Any, cutoff: datetime) -> Any:
    """Days between a timestamp column and the cut-off (positive in the past)."""
    stamp = column.cast("timestamp")
    return (ibis.literal(cutoff).epoch_seconds() - stamp.epoch_seconds()).cast("float64") / DAY_SECONDS


def safe_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "blank"


def feature_table(catalog: ModelCatalog, inputs: Inputs, plan: FeaturePlan, cutoff: datetime) -> ibis.Table:
    """One row per user known at ``cutoff``, with every feature computed from rows before it."""
    cutoff = naive_utc(cutoff)
    users = _users(catalog, inputs, plan, cutoff)
    purchases = _purchase_features(catalog, inputs, plan, cutoff)
    joined = _left_join(users, purchases)
    for event in inputs.activity:
        joined = _left_join(joined, _event_features(catalog, event, plan, cutoff))
    return joined


def label_table(catalog: ModelCatalog, inputs: Inputs, cutoff: datetime, horizon_days: int) -> ibis.Table:
    """Per user with purchases in ``[cutoff, cutoff + horizon)``: their count and spend."""
    cutoff = naive_utc(cutoff)
    end = cutoff + timedelta(days=horizon_days)
    link = inputs.purchases.link
    rows = _purchase_rows(catalog, inputs)
    stamp = rows[inputs.purchases.timestamp].cast("timestamp")
    future = rows.filter(rows[link.to_field].notnull(), stamp >= cutoff, stamp < end)
    metrics: dict[str, Any] = {"future_purchases": future.count()}
    metrics["future_spend"] = (
        future[inputs.amount].cast("float64").sum() if inputs.amount else ibis.literal(0.0)
    )
    return future.group_by(**{KEY: future[link.to_field]}).aggregate(**metrics)


def training_rows(catalog: ModelCatalog, inputs: Inputs, plan: FeaturePlan, cutoff: datetime) -> ibis.Table:
    """Features at ``cutoff`` with the labels of the following horizon (0 when nothing happened)."""
    features = feature_table(catalog, inputs, plan, cutoff)
    labels = label_table(catalog, inputs, cutoff, plan.horizon_days)
    joined = features.left_join(labels, features[KEY] == labels[KEY])
    return joined.select(
        *[joined[column] for column in features.columns],
        future_purchases=joined["future_purchases"].fill_null(0),
        future_spend=joined["future_spend"].fill_null(0.0),
    )


def fetch(catalog: ModelCatalog, table: ibis.Table) -> pa.Table:
    """Run a feature query on the source (the only data that comes to Python)."""
    result: pa.Table = catalog.to_pyarrow(table)
    return result


def _left_join(left: ibis.Table, right: ibis.Table) -> ibis.Table:
    joined = left.left_join(right, left[KEY] == right[KEY])
    extra = [column for column in right.columns if column != KEY]
    return joined.select(*[joined[column] for column in left.columns], *[joined[column] for column in extra])


def _users(catalog: ModelCatalog, inputs: Inputs, plan: FeaturePlan, cutoff: datetime) -> ibis.Table:
    key = inputs.users.primary_key
    wanted = [key, *plan.user_categories, *([inputs.signup] if inputs.signup else [])]
    users = catalog.table(inputs.users.name, fields=wanted)
    users = users.filter(users[key].notnull())
    metrics: dict[str, Any] = {}
    if inputs.signup:
        stamp = users[inputs.signup].cast("timestamp")
        users = users.filter(stamp.isnull() | (stamp < cutoff))
        metrics["tenure_days"] = _age_days(users[inputs.signup], cutoff).max()
    for name in plan.user_categories:
        metrics[f"user_{safe_name(name)}"] = users[name].cast("string").max()
    if not metrics:
        return users.select(**{KEY: users[key]}).distinct()
    return users.group_by(**{KEY: users[key]}).aggregate(**metrics)


def _purchase_features(
    catalog: ModelCatalog, inputs: Inputs, plan: FeaturePlan, cutoff: datetime
) -> ibis.Table:
    link = inputs.purchases.link
    rows = _purchase_rows(catalog, inputs)
    stamp = rows[inputs.purchases.timestamp].cast("timestamp")
    past = rows.filter(rows[link.to_field].notnull(), stamp < cutoff)
    age = _age_days(past[inputs.purchases.timestamp], cutoff)
    metrics: dict[str, Any] = {
        "purchases_total": past.count(),
        "days_since_last_purchase": age.min(),
        "days_since_first_purchase": age.max(),
    }
    for window in plan.windows:
        metrics[f"purchases_{window}d"] = ibis.ifelse(age < window, 1, 0).sum()
    if inputs.amount:
        amount = past[inputs.amount].cast("float64")
        metrics["spend_total"] = amount.sum()
        metrics["order_value_avg"] = amount.mean()
        metrics["order_value_max"] = amount.max()
        for window in plan.windows:
            metrics[f"spend_{window}d"] = ibis.ifelse(age < window, amount, 0.0).sum()
    for name in inputs.purchase_categories:
        values = plan.vocabulary.get(f"purchases:{name}", [])
        column = past[name].cast("string")
        for value in values:
            metrics[f"share_{safe_name(name)}_{safe_name(value)}"] = ibis.ifelse(
                column == value, 1.0, 0.0
            ).mean()
    return past.group_by(**{KEY: past[link.to_field]}).aggregate(**metrics)


def _event_features(
    catalog: ModelCatalog, event: EventInput, plan: FeaturePlan, cutoff: datetime
) -> ibis.Table:
    link = event.link
    rows = catalog.table(link.to_model, fields=[event.category] if event.category else [])
    stamp = rows[event.timestamp].cast("timestamp")
    past = rows.filter(rows[link.to_field].notnull(), stamp < cutoff)
    age = _age_days(past[event.timestamp], cutoff)
    prefix = safe_name(link.name)
    metrics: dict[str, Any] = {f"{prefix}_days_since_last": age.min()}
    for window in plan.windows:
        metrics[f"{prefix}_{window}d"] = ibis.ifelse(age < window, 1, 0).sum()
    if event.category:
        column = past[event.category].cast("string")
        for value in plan.vocabulary.get(f"{link.name}:{event.category}", []):
            hit = (column == value) & (age < MIX_WINDOW)
            metrics[f"{prefix}_{safe_name(value)}_{MIX_WINDOW}d"] = ibis.ifelse(hit, 1, 0).sum()
    return past.group_by(**{KEY: past[link.to_field]}).aggregate(**metrics)


COUNT_PREFIXES = ("purchases_", "spend_")


def zero_filled(columns: list[str], inputs: Inputs) -> set[str]:
    """Feature columns where a missing value means zero (counts and spend), not unknown."""
    prefixes = [*COUNT_PREFIXES, *(f"{safe_name(event.link.name)}_" for event in inputs.activity)]
    return {
        column
        for column in columns
        if any(column.startswith(prefix) for prefix in prefixes) and "days_since" not in column
    }
