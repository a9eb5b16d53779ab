"""Prediction fields on the users model: created on publish, read by joining the scores table.

A prediction field is a calculated field of kind ``prediction``
(:class:`~sluice.models.calculations.PredictionScores`). The stored catalog reads it by left-joining
the version's scores table on the primary key, so ``churn_score > 0.7`` works in segment conditions,
previews, breakdowns and field mappings like any other field. Publishing a version repoints every
field of the predictor to the new table in one control-DB transaction.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import ibis
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict, InvalidInput
from sluice.core.logging import get_logger
from sluice.models.calculations import PredictionScores
from sluice.models.catalog import FieldType
from sluice.models.definitions import FieldDefinition
from sluice.predictions.features import KEY
from sluice.predictions.storage import ScoreLocation
from sluice.store.tables.models import Model, ModelField
from sluice.warehouse.connection import IbisWarehouse, Warehouse

log = get_logger(__name__)

IBIS_TYPES = {
    FieldType.FLOAT: "float64",
    FieldType.INTEGER: "int64",
    FieldType.STRING: "string",
}
_KEY = "__sluice_score_key"
_VALUE = "__sluice_score_value"


def _attached(warehouse: Warehouse, file: str) -> str | None:
    """Attach a local scores file read-only to a DuckDB connection; its alias (None if it is gone)."""
    if warehouse.dialect != "duckdb" or not isinstance(warehouse, IbisWarehouse):
        raise InvalidInput("scores kept in a local DuckDB file can only be read on a DuckDB source")
    path = Path(file)
    if not path.exists():
        log.warning("prediction scores file is missing", file=file)
        return None
    alias = "sluice_scores_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]  # noqa: S324 - a name
    con = warehouse.backend.con
    present = {str(row[0]) for row in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    if alias not in present:
        escaped = str(path).replace("'", "''")
        con.execute(f"ATTACH '{escaped}' AS {alias} (READ_ONLY)")
    return alias


def scores_table(warehouse: Warehouse, calc: PredictionScores) -> ibis.Table | None:
    """The scores table a field reads, on the source's connection (None when its file is gone)."""
    if calc.file:
        alias = _attached(warehouse, calc.file)
        if alias is None:
            return None
        assert isinstance(warehouse, IbisWarehouse)
        table: ibis.Table = warehouse.backend.table(calc.table, database=(alias, "main"))
        return table
    return warehouse.table(calc.schema_name, calc.table)


def join_scores(
    warehouse: Warehouse, table: ibis.Table, primary_key: str, item: FieldDefinition, calc: PredictionScores
) -> ibis.Table:
    """``table`` with the field ``item`` joined from its scores table (NULL for unscored users)."""
    kind = IBIS_TYPES.get(item.type, "string")
    scores = scores_table(warehouse, calc)
    if scores is None:
        return table.mutate(**{item.name: ibis.null().cast(kind)})
    key_type = table[primary_key].type()
    picked = scores.select(**{_KEY: scores[calc.key].cast(key_type), _VALUE: scores[calc.output].cast(kind)})
    joined = table.left_join(picked, table[primary_key] == picked[_KEY])
    return joined.select(*[joined[column] for column in table.columns], **{item.name: joined[_VALUE]})


def check_field_names(model: Model, names: list[str], predictor_id: str | None) -> None:
    """Refuse field names the users model already uses for something else."""
    for name in names:
        row = next((item for item in model.fields if item.name == name), None)
        if row is None:
            continue
        calc = row.calculation or {}
        if calc.get("kind") != "prediction" or (predictor_id and calc.get("predictor_id") != predictor_id):
            raise Conflict(
                f"model {model.name!r} already has a field {name!r}; choose another field_name for the predictor"
            )


def publish_fields(
    session: Session,
    model: Model,
    predictor_id: str,
    version_id: str,
    location: ScoreLocation,
    outputs: dict[str, tuple[str, str]],
    description: str,
) -> list[str]:
    """Create or repoint the predictor's fields on ``model`` to ``location``; their names.

    Fields the predictor made earlier under other names (its ``field_name`` changed) are removed.
    """
    check_field_names(model, list(outputs), predictor_id)
    position = max((item.position for item in model.fields), default=-1) + 1
    for name, (column, kind) in outputs.items():
        calc: dict[str, Any] = PredictionScores(
            predictor_id=predictor_id,
            version_id=version_id,
            output=column,
            key=KEY,
            table=location.table,
            schema_name=location.schema_name,
            file=location.file,
        ).model_dump(mode="json")
        row = next((item for item in model.fields if item.name == name), None)
        if row is None:
            model.fields.append(
                ModelField(
                    workspace_id=model.workspace_id,
                    name=name,
                    type=FieldType(kind).value,
                    calculation=calc,
                    description=description,
                    position=position,
                )
            )
            position += 1
        else:
            row.calculation = calc
            row.type = FieldType(kind).value
            row.broken_reason = None
    for row in list(model.fields):  # fields renamed since the last version (field_name changed)
        calc = row.calculation or {}
        if (
            calc.get("kind") == "prediction"
            and calc.get("predictor_id") == predictor_id
            and row.name not in outputs
        ):
            model.fields.remove(row)
    session.flush()
    return list(outputs)


def remove_fields(session: Session, model: Model, predictor_id: str) -> None:
    """Delete the fields a predictor created (when the predictor is deleted)."""
    for row in list(model.fields):
        calc = row.calculation or {}
        if calc.get("kind") == "prediction" and calc.get("predictor_id") == predictor_id:
            model.fields.remove(row)
    session.flush()
