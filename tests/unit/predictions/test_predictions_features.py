"""Point-in-time features and labels on a tiny in-memory DuckDB: nothing after the cut-off leaks in."""

from __future__ import annotations

from datetime import datetime

import ibis
import pytest

from sluice.core.errors import InvalidInput
from sluice.models.catalog import (
    FieldInfo,
    FieldType,
    ModelInfo,
    ModelType,
    RelationshipInfo,
    RelationshipKind,
    StaticCatalog,
)
from sluice.predictions import features as ft
from sluice.predictions.spec import PredictorConfig, resolve_inputs

CUTOFF = datetime(2026, 6, 1)


def _info(
    name: str, kind: ModelType, key: str, fields: dict[str, FieldInfo], stamp: str | None = None
) -> ModelInfo:
    return ModelInfo(name=name, type=kind, primary_key=key, fields=fields, timestamp_field=stamp)


@pytest.fixture
def catalog() -> StaticCatalog:
    con = ibis.duckdb.connect()
    users = con.create_table(
        "users",
        ibis.memtable(
            {
                "id": [1, 2, 3],
                "signup": [datetime(2025, 1, 1), datetime(2026, 1, 1), datetime(2026, 7, 1)],
                "tier": ["gold", "basic", "basic"],
            }
        ),
    )
    orders = con.create_table(
        "orders",
        ibis.memtable(
            {
                "order_id": [10, 11, 12, 13, 14, 15],
                "user_id": [1, 1, 1, 2, 2, 3],
                "at": [
                    datetime(2026, 5, 20),  # 12 days before the cut-off
                    datetime(2026, 1, 1),  # 151 days before
                    datetime(2026, 6, 10),  # after the cut-off: a label, never a feature
                    datetime(2026, 3, 1),
                    datetime(2026, 5, 31),  # refunded: filtered out
                    datetime(2026, 7, 2),
                ],
                "total": [100.0, 50.0, 70.0, 20.0, 999.0, 5.0],
                "status": ["completed", "completed", "completed", "completed", "refunded", "completed"],
            }
        ),
    )
    text = FieldInfo("x", FieldType.STRING)
    models = {
        "users": _info(
            "users",
            ModelType.USERS,
            "id",
            {
                "id": FieldInfo("id", FieldType.INTEGER),
                "signup": FieldInfo("signup", FieldType.TIMESTAMP, meaning="created_at"),
                "tier": FieldInfo("tier", FieldType.STRING, categorical=True),
            },
        ),
        "orders": _info(
            "orders",
            ModelType.EVENTS,
            "order_id",
            {
                "order_id": FieldInfo("order_id", FieldType.INTEGER),
                "user_id": FieldInfo("user_id", FieldType.INTEGER),
                "at": FieldInfo("at", FieldType.TIMESTAMP),
                "total": FieldInfo("total", FieldType.FLOAT, meaning="revenue"),
                "status": text,
            },
            "at",
        ),
    }
    links = [RelationshipInfo("orders", RelationshipKind.HAS_MANY, "users", "orders", "id", "user_id")]
    return StaticCatalog("duckdb", models, {"users": users, "orders": orders}, links)


def test_features_read_only_the_past_and_labels_only_the_horizon(catalog: StaticCatalog) -> None:
    config = PredictorConfig(horizon_days=30, purchase_filter="status = 'completed'")
    inputs = resolve_inputs(catalog, "users", config)
    assert (inputs.purchases.link.name, inputs.amount, inputs.signup) == ("orders", "total", "signup")
    plan = ft.plan_features(catalog, inputs, config.horizon_days)
    assert plan.vocabulary["user:tier"] == ["basic", "gold"]
    rows = catalog.to_pyarrow(ft.training_rows(catalog, inputs, plan, CUTOFF)).to_pylist()
    by_user = {row[ft.KEY]: row for row in rows}
    assert set(by_user) == {1, 2}  # user 3 signed up after the cut-off
    first = by_user[1]
    assert first["purchases_total"] == 2
    assert first["spend_total"] == 150.0
    assert first["purchases_30d"] == 1
    assert first["spend_30d"] == 100.0
    assert first["days_since_last_purchase"] == pytest.approx(12.0)
    assert first["days_since_first_purchase"] == pytest.approx(151.0)
    assert first["tenure_days"] == pytest.approx(516.0)
    assert first["user_tier"] == "gold"
    assert (first["future_purchases"], first["future_spend"]) == (1, 70.0)
    second = by_user[2]
    assert second["purchases_total"] == 1  # the refunded order is not a purchase
    assert second["spend_total"] == 20.0
    assert (second["future_purchases"], second["future_spend"]) == (0, 0.0)


def test_a_users_model_is_required(catalog: StaticCatalog) -> None:
    with pytest.raises(InvalidInput, match="users model"):
        resolve_inputs(catalog, "orders", PredictorConfig())


def test_recommendations_need_purchase_lines(catalog: StaticCatalog) -> None:
    from sluice.predictions.recommendations import purchased_items

    inputs = resolve_inputs(catalog, "users", PredictorConfig())
    with pytest.raises(InvalidInput, match="purchase lines naming a product"):
        purchased_items(catalog, inputs, CUTOFF)
