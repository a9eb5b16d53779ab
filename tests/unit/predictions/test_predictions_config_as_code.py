"""``sluice apply`` leaves the fields a predictor added to a users model alone."""

from __future__ import annotations

from sluice.config.file import ModelDoc
from sluice.config.plan import _field_changes
from sluice.store.tables.models import Model, ModelField


def test_a_model_file_without_prediction_fields_does_not_delete_them() -> None:
    model = Model(name="users", type="users", primary_key="id")
    model.fields = [
        ModelField(name="id", column="id", type="integer"),
        ModelField(name="email", column="email", type="string"),
        ModelField(
            name="churn_score",
            type="float",
            calculation={
                "kind": "prediction",
                "predictor_id": "p",
                "version_id": "v",
                "output": "score",
                "table": "scores",
            },
        ),
    ]
    doc = ModelDoc.model_validate(
        {"name": "users", "source": "shop", "type": "users", "primary_key": "id", "fields": [{"name": "id"}]}
    )
    deleted = [change.name for change in _field_changes(model, doc) if change.action == "delete"]
    assert deleted == ["users.email"]
