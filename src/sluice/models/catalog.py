"""The in-process view of a workspace's models that the segment engine, syncs and predictions use.

A :class:`ModelCatalog` hands out each model as an **Ibis table whose columns are the model's field
names** (calculated fields included on request), plus the metadata needed to join models along
relationships. The segment compiler depends only on this protocol, never on the store.

Two implementations: :class:`StaticCatalog` (tables given directly; tests, benchmarks) and the
store-backed catalog of :mod:`sluice.models` (built from saved models on a source).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ModelType(StrEnum):
    USERS = "users"
    EVENTS = "events"
    CUSTOM = "custom"


class FieldType(StrEnum):
    """Logical field types; each maps to a set of operators in the segment builder."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    JSON = "json"
    ARRAY = "array"


class RelationshipKind(StrEnum):
    HAS_MANY = "has_many"
    BELONGS_TO = "belongs_to"
    HAS_ONE = "has_one"


@dataclass(frozen=True)
class FieldInfo:
    """A model field as consumers see it."""

    name: str
    type: FieldType
    categorical: bool = False
    meaning: str | None = None
    calculated: bool = False
    broken_reason: str | None = None
    """Set when the source column is gone or retyped (the field is then absent from ``table()``)."""


@dataclass(frozen=True)
class RelationshipInfo:
    """``from_model.from_field`` relates to ``to_model.to_field``."""

    name: str
    kind: RelationshipKind
    from_model: str
    to_model: str
    from_field: str
    to_field: str


@dataclass(frozen=True)
class ModelInfo:
    """A model's identity and schema."""

    name: str
    type: ModelType
    primary_key: str
    fields: Mapping[str, FieldInfo]
    timestamp_field: str | None = None
    id: str | None = None


class ModelCatalog(Protocol):
    """Models of one source, as Ibis tables with field-named columns."""

    @property
    def dialect(self) -> str:
        """The source's SQL dialect name as sqlglot/Ibis knows it (duckdb, postgres, snowflake, …)."""
        ...

    def model(self, name: str) -> ModelInfo:
        """The model called ``name`` (raises ``sluice.core.errors.NotFound``)."""
        ...

    def table(self, name: str, *, fields: Collection[str] | None = None) -> Any:
        """``ibis.Table`` of the model; calculated fields are joined in only when listed (None = all)."""
        ...

    def relationships(self, name: str) -> list[RelationshipInfo]:
        """Relationships that start at model ``name``."""
        ...

    def compile(self, expr: Any) -> str:
        """The SQL the source runs for ``expr`` (in :attr:`dialect`)."""
        ...

    def to_pyarrow(self, expr: Any) -> Any:
        """Run ``expr`` on the source; a ``pyarrow.Table``."""
        ...

    def to_pyarrow_batches(self, expr: Any, chunk_size: int = 100_000) -> Iterator[Any]:
        """Run ``expr`` on the source and stream ``pyarrow.RecordBatch`` es."""
        ...


@dataclass
class StaticCatalog:
    """A catalog over Ibis tables given directly (tests, benchmarks, the reference evaluator)."""

    dialect: str
    models: dict[str, ModelInfo]
    tables: dict[str, Any]
    links: list[RelationshipInfo] = field(default_factory=list)

    def model(self, name: str) -> ModelInfo:
        from sluice.core.errors import NotFound

        if name not in self.models:
            raise NotFound(f"model {name!r} not found")
        return self.models[name]

    def table(self, name: str, *, fields: Collection[str] | None = None) -> Any:
        self.model(name)
        return self.tables[name]

    def relationships(self, name: str) -> list[RelationshipInfo]:
        return [link for link in self.links if link.from_model == name]

    def compile(self, expr: Any) -> str:
        import ibis

        return str(ibis.to_sql(expr, dialect=self.dialect))

    def to_pyarrow(self, expr: Any) -> Any:
        return expr.to_pyarrow()

    def to_pyarrow_batches(self, expr: Any, chunk_size: int = 100_000) -> Iterator[Any]:
        yield from expr.to_pyarrow_batches(chunk_size=chunk_size)
