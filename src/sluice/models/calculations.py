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
