"""What a calculated field computes: a row expression, or an aggregate over a relationship."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class AggregateFunction(StrEnum):
    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    COUNT_DISTINCT = "count_distinct"
    FIRST = "first"
    LAST = "last"


class RowExpression(BaseModel):
    """A SQL expression over this model's fields, e.g. ``first_name || ' ' || last_name``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["expression"] = "expression"
    expression: str = Field(min_length=1, max_length=2000)


class RelatedAggregate(BaseModel):
    """An aggregate over the rows a relationship reaches, e.g. the sum of ``orders.total``.

    ``first``/``last`` take ``field`` from the earliest/latest related row by ``order_by``
    (default: the related model's timestamp field). ``filter`` is a SQL predicate over the related
    model's fields, e.g. ``status = 'completed'``.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["aggregate"] = "aggregate"
    relationship: str = Field(min_length=1)
    function: AggregateFunction
    field: str | None = None
    order_by: str | None = None
    filter: str | None = Field(default=None, max_length=2000)


Calculation = Annotated[RowExpression | RelatedAggregate, Field(discriminator="kind")]


class PredictionScores(BaseModel):
    """A column of a scores table a predictor wrote (``churn_score``, ``ltv_decile``, …).

    Not written by users: :mod:`sluice.predictions` creates and repoints these fields when a
    predictor's new version is published. ``table`` lives in ``schema`` of the source's warehouse, or,
    when ``file`` is set, in a local DuckDB file Sluice attaches read-only to a DuckDB source.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["prediction"] = "prediction"
    predictor_id: str
    version_id: str
    output: str
    key: str = "user_key"
    table: str
    schema_name: str | None = None
    file: str | None = None


StoredCalculation = Annotated[
    RowExpression | RelatedAggregate | PredictionScores, Field(discriminator="kind")
]
