"""The fields each kind of predictor adds to the users model."""

from __future__ import annotations

from sluice.predictions.pipeline import output_fields
from sluice.predictions.spec import PredictorConfig, PredictorKind


def test_default_field_names_follow_the_kind_and_horizon() -> None:
    assert output_fields(PredictorKind.CHURN, PredictorConfig()) == {
        "churn_score": ("score", "float"),
        "churn_decile": ("decile", "integer"),
    }
    assert list(output_fields(PredictorKind.LTV, PredictorConfig(horizon_days=180))) == [
        "ltv_180d",
        "ltv_decile",
    ]
    assert output_fields(PredictorKind.RECOMMENDATIONS, PredictorConfig()) == {
        "recommended_products": ("products", "string")
    }


def test_a_field_name_renames_the_score_and_its_decile() -> None:
    fields = output_fields(PredictorKind.CHURN, PredictorConfig(field_name="app_churn"))
    assert list(fields) == ["app_churn", "app_churn_decile"]
