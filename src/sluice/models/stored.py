"""The store-backed :class:`~sluice.models.catalog.ModelCatalog`: saved models on a source's warehouse.

``load_catalog(session, workspace_id, source_id)`` reads the source and its models once and returns a
:class:`StoredCatalog`; its ``table(name)`` is an Ibis expression over the source whose columns are the
model's field names, with calculated fields applied (row expressions, and aggregates over
relationships joined in as left joins).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput, NotFound
from sluice.models.calculations import AggregateFunction, PredictionScores, RelatedAggregate, RowExpression
from sluice.models.catalog import ModelInfo, RelationshipInfo
from sluice.models.definitions import FieldDefinition, ModelDefinition, model_definition, relationship_infos
from sluice.models.expressions import referenced_fields, to_ibis
from sluice.store.scoped import get_scoped
from sluice.store.tables.models import Model, ModelRelationship
from sluice.store.tables.sources import Source
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.sources import open_source

_KEY = "__sluice_key"
_VALUE = "__sluice_value"


@dataclass
class StoredCatalog:
    """Models of one source, backed by an open :class:`Warehouse`."""

    warehouse: Warehouse
    definitions: dict[str, ModelDefinition]
    links: list[RelationshipInfo] = field(default_factory=list)
    _sources: dict[str, ibis.Table] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.warehouse.dialect

    def definition(self, name: str) -> ModelDefinition:
        if name not in self.definitions:
            raise NotFound(f"model {name!r} not found on this source")
        return self.definitions[name]

    def model(self, name: str) -> ModelInfo:
        return self.definition(name).info()

    def relationships(self, name: str) -> list[RelationshipInfo]:
        self.definition(name)
        return [link for link in self.links if link.from_model == name]

    def source_table(self, name: str) -> ibis.Table:
        """The model's table or query with its source column names (no renaming, no calculated fields)."""
        if name not in self._sources:
            definition = self.definition(name)
            if definition.sql:
                self._sources[name] = self.warehouse.query(definition.sql)
            else:
                assert definition.table_name is not None
                self._sources[name] = self.warehouse.table(definition.table_schema, definition.table_name)
        return self._sources[name]

    def table(self, name: str, *, fields: Collection[str] | None = None) -> ibis.Table:
        return self._table(name, fields, ())

    def _table(self, name: str, fields: Collection[str] | None, stack: tuple[str, ...]) -> ibis.Table:
        if name in stack:
            raise InvalidInput(f"calculated fields loop through models: {' → '.join((*stack, name))}")
        definition = self.definition(name)
        calculated = self._calculated_closure(definition, fields)
        base = self.source_table(name)
        table = base.select(
            **{
                item.name: base[item.column]
                for item in definition.fields
                if item.column is not None and item.calculation is None and item.broken_reason is None
            }
        )
        for item in calculated:
            if isinstance(item.calculation, RowExpression):
                table = table.mutate(**{item.name: to_ibis(item.calculation.expression, table)})
            elif isinstance(item.calculation, RelatedAggregate):
                table = self._join_aggregate(table, definition, item.name, item.calculation, (*stack, name))
            elif isinstance(item.calculation, PredictionScores):
                from sluice.predictions.fields import join_scores

                table = join_scores(self.warehouse, table, definition.primary_key, item, item.calculation)
        return table

    def _calculated_closure(
        self, definition: ModelDefinition, fields: Collection[str] | None
    ) -> list[FieldDefinition]:
        """Calculated fields to compute, in field order: those asked for and those they read."""
        usable = [
            item for item in definition.fields if item.calculation is not None and not item.broken_reason
        ]
        if fields is None:
            return usable
        unknown = set(fields) - {item.name for item in definition.fields}
        if unknown:
            raise InvalidInput(f"model {definition.name!r} has no field {sorted(unknown)[0]!r}")
        wanted = set(fields)
        changed = True
        while changed:
            changed = False
            for item in usable:
                if item.name in wanted and isinstance(item.calculation, RowExpression):
                    extra = referenced_fields(item.calculation.expression) - wanted
                    if extra:
                        wanted |= extra
                        changed = True
        return [item for item in usable if item.name in wanted]

    def _relationship(self, model: str, name: str) -> RelationshipInfo:
        for link in self.relationships(model):
            if link.name == name:
                return link
        raise InvalidInput(f"model {model!r} has no relationship {name!r}")

    def _join_aggregate(
        self,
        table: ibis.Table,
        definition: ModelDefinition,
        name: str,
        calc: RelatedAggregate,
        stack: tuple[str, ...],
    ) -> ibis.Table:
        link = self._relationship(definition.name, calc.relationship)
        related_def = self.definition(link.to_model)
        order_by = calc.order_by or related_def.timestamp_field
        needed = {link.to_field, calc.field, order_by} | (
            referenced_fields(calc.filter) if calc.filter else set()
        )
        needed_calculated = [
            item.name for item in related_def.fields if item.name in needed and item.calculation is not None
        ]
        related = self._table(link.to_model, needed_calculated, stack)
        if calc.filter:
            related = related.filter(to_ibis(calc.filter, related))
        if calc.function in (AggregateFunction.FIRST, AggregateFunction.LAST):
            grouped = first_or_last(related, calc, link.to_field, order_by)
        else:
            metric = aggregate_metric(related, calc, order_by)
            grouped = related.group_by(**{_KEY: related[link.to_field]}).aggregate(**{_VALUE: metric})
        joined = table.left_join(grouped, table[link.from_field] == grouped[_KEY])
        value = joined[_VALUE]
        if calc.function in (AggregateFunction.COUNT, AggregateFunction.COUNT_DISTINCT):
            value = value.fill_null(0)
        return joined.select(*[joined[column] for column in table.columns], **{name: value})

    def compile(self, expr: Any) -> str:
        return self.warehouse.compile(expr)

    def to_pyarrow(self, expr: Any) -> pa.Table:
        return self.warehouse.to_pyarrow(expr)

    def to_pyarrow_batches(self, expr: Any, chunk_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        yield from self.warehouse.to_pyarrow_batches(expr, chunk_size)

    def close(self) -> None:
        """Close the warehouse connection."""
        self.warehouse.close()

    def __enter__(self) -> StoredCatalog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def first_or_last(related: ibis.Table, calc: RelatedAggregate, key: str, order_by: str | None) -> ibis.Table:
    """Per key, ``calc.field`` of the earliest (first) or latest (last) related row by ``order_by``.

    A ``ROW_NUMBER()`` window rather than ``ARG_MIN``/``MAX_BY``, so every dialect (Redshift too) runs it.
    """
    if calc.field is None or calc.field not in related.columns:
        raise InvalidInput(f"{calc.function} needs a field of the related model (got {calc.field!r})")
    if order_by is None:
        raise InvalidInput(f"{calc.function} needs order_by: the related model has no timestamp field")
    stamp = related[order_by]
    ordering = stamp.asc(nulls_first=False) if calc.function == AggregateFunction.FIRST else stamp.desc()
    ranked = related.filter(stamp.notnull()).mutate(
        __sluice_rank=ibis.row_number().over(group_by=related[key], order_by=ordering)
    )
    return ranked.filter(ranked["__sluice_rank"] == 0).select(
        **{_KEY: ranked[key], _VALUE: ranked[calc.field]}
    )


def aggregate_metric(related: ibis.Table, calc: RelatedAggregate, order_by: str | None) -> ibis.Value:
    """The Ibis aggregate a calculated field asks for, over the related rows."""
    if calc.function == AggregateFunction.COUNT:
        return related[calc.field].count() if calc.field else related.count()
    if calc.field is None:
        raise InvalidInput(f"the {calc.function} aggregate needs a field of the related model")
    if calc.field not in related.columns:
        raise InvalidInput(f"the related model has no field {calc.field!r}")
    column = related[calc.field]
    method = {
        AggregateFunction.SUM: "sum",
        AggregateFunction.AVG: "mean",
        AggregateFunction.MIN: "min",
        AggregateFunction.MAX: "max",
        AggregateFunction.COUNT_DISTINCT: "nunique",
    }[calc.function]
    if not hasattr(column, method):
        raise InvalidInput(f"{calc.function} cannot be computed over {calc.field!r} ({column.type()})")
    result: ibis.Value = getattr(column, method)()
    return result


def load_definitions(session: Session, workspace_id: str, source_id: str) -> StoredDefinitions:
    """Every model and relationship of a source, detached from ``session``."""
    models = list(
        session.scalars(select(Model).where(Model.workspace_id == workspace_id, Model.source_id == source_id))
    )
    names = {row.id: row.name for row in models}
    rows = list(
        session.scalars(
            select(ModelRelationship).where(
                ModelRelationship.workspace_id == workspace_id,
                ModelRelationship.from_model_id.in_(list(names)),
            )
        )
    )
    return StoredDefinitions(
        definitions={row.name: model_definition(row) for row in models},
        links=relationship_infos(rows, names),
    )


@dataclass(frozen=True)
class StoredDefinitions:
    definitions: dict[str, ModelDefinition]
    links: list[RelationshipInfo]


def load_catalog(
    session: Session, workspace_id: str, source_id: str, *, secrets: SecretBox | None = None
) -> StoredCatalog:
    """The catalog of a source's models, connected to its warehouse.

    ``secrets`` decrypts the source's credentials; without it, ``session.info["secret_box"]`` is used
    (sources without secrets, such as DuckDB files, need neither). Close the catalog when done.
    """
    source = get_scoped(session, Source, source_id, workspace_id, "source")
    box = secrets or session.info.get("secret_box")
    stored = load_definitions(session, workspace_id, source_id)
    warehouse = open_source(source, box)
    return StoredCatalog(warehouse=warehouse, definitions=stored.definitions, links=stored.links)
