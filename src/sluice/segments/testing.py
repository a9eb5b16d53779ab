"""A small shop schema for testing the segment engine on real engines (DuckDB, PostgreSQL, fakesnow).

``SHOP_MODELS`` / ``SHOP_LINKS`` describe users, companies, orders, order items, products and events
with every field type and relationship kind; :func:`duckdb_catalog` loads rows (dicts) into an
in-memory DuckDB and returns a :class:`~sluice.models.catalog.StaticCatalog` over Ibis tables;
:class:`SqlCatalog` runs compiled SQL through any DB-API connection (PostgreSQL, fakesnow).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from sluice.models.catalog import (
    FieldInfo,
    FieldType,
    ModelInfo,
    ModelType,
    RelationshipInfo,
    RelationshipKind,
    StaticCatalog,
)

F = FieldType


def _model(name: str, kind: ModelType, key: str, fields: dict[str, FieldType], **extra: Any) -> ModelInfo:
    categorical = set(extra.pop("categorical", ()))
    meanings: dict[str, str] = extra.pop("meanings", {})
    infos = {
        field: FieldInfo(field, ftype, categorical=field in categorical, meaning=meanings.get(field))
        for field, ftype in fields.items()
    }
    return ModelInfo(name=name, type=kind, primary_key=key, fields=infos, **extra)


SHOP_MODELS: dict[str, ModelInfo] = {
    "users": _model(
        "users",
        ModelType.USERS,
        "user_id",
        {
            "user_id": F.INTEGER,
            "row_no": F.INTEGER,
            "email": F.STRING,
            "country": F.STRING,
            "tier": F.STRING,
            "age": F.INTEGER,
            "score": F.FLOAT,
            "vip": F.BOOLEAN,
            "birth_date": F.DATE,
            "created_at": F.TIMESTAMP,
            "company_id": F.INTEGER,
        },
        categorical=("country", "tier"),
        meanings={"email": "email"},
    ),
    "companies": _model(
        "companies",
        ModelType.CUSTOM,
        "company_id",
        {"company_id": F.INTEGER, "industry": F.STRING, "employees": F.INTEGER},
        categorical=("industry",),
    ),
    "orders": _model(
        "orders",
        ModelType.CUSTOM,
        "order_id",
        {
            "order_id": F.INTEGER,
            "user_id": F.INTEGER,
            "status": F.STRING,
            "total": F.FLOAT,
            "ordered_at": F.TIMESTAMP,
        },
        categorical=("status",),
        timestamp_field="ordered_at",
    ),
    "order_items": _model(
        "order_items",
        ModelType.CUSTOM,
        "order_item_id",
        {"order_item_id": F.INTEGER, "order_id": F.INTEGER, "product_id": F.INTEGER, "quantity": F.INTEGER},
    ),
    "products": _model(
        "products",
        ModelType.CUSTOM,
        "product_id",
        {"product_id": F.INTEGER, "category": F.STRING},
        categorical=("category",),
    ),
    "events": _model(
        "events",
        ModelType.EVENTS,
        "event_id",
        {
            "event_id": F.STRING,
            "user_id": F.INTEGER,
            "event_name": F.STRING,
            "occurred_at": F.TIMESTAMP,
            "properties": F.JSON,
        },
        timestamp_field="occurred_at",
        meanings={"event_name": "event_name"},
    ),
}


def _link(
    name: str, kind: RelationshipKind, source: str, target: str, on: tuple[str, str]
) -> RelationshipInfo:
    return RelationshipInfo(name, kind, source, target, on[0], on[1])


HAS_MANY, BELONGS_TO = RelationshipKind.HAS_MANY, RelationshipKind.BELONGS_TO
SHOP_LINKS: list[RelationshipInfo] = [
    _link("orders", HAS_MANY, "users", "orders", ("user_id", "user_id")),
    _link("events", HAS_MANY, "users", "events", ("user_id", "user_id")),
    _link("company", BELONGS_TO, "users", "companies", ("company_id", "company_id")),
    _link("user", BELONGS_TO, "orders", "users", ("user_id", "user_id")),
    _link("items", HAS_MANY, "orders", "order_items", ("order_id", "order_id")),
    _link("product", BELONGS_TO, "order_items", "products", ("product_id", "product_id")),
    _link("members", HAS_MANY, "companies", "users", ("company_id", "company_id")),
]

IBIS_TYPES = {
    F.INTEGER: "int64",
    F.FLOAT: "float64",
    F.STRING: "string",
    F.BOOLEAN: "boolean",
    F.DATE: "date",
    F.TIMESTAMP: "timestamp",
    F.JSON: "json",
}


def ibis_schema(model: ModelInfo) -> ibis.Schema:
    """The Ibis schema of a shop model (column per field, in field order)."""
    return ibis.schema({name: IBIS_TYPES[info.type] for name, info in model.fields.items()})


def arrow_table(model: ModelInfo, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows of a model as Arrow (JSON fields serialised to text)."""
    columns: dict[str, list[Any]] = {}
    for name, info in model.fields.items():
        values = [row.get(name) for row in rows]
        if info.type == F.JSON:
            values = [None if v is None else json.dumps(v) for v in values]
        columns[name] = values
    schema = ibis_schema(model).to_pyarrow()
    json_free = pa.schema(
        [pa.field(f.name, pa.string()) if str(f.type) == "extension<arrow.json>" else f for f in schema]
    )
    return pa.table(columns, schema=json_free)


def unbound_catalog(dialect: str, models: Mapping[str, ModelInfo] = SHOP_MODELS) -> StaticCatalog:
    """A catalog over unbound Ibis tables (for SQL text only: golden files, other engines)."""
    tables = {name: ibis.table(ibis_schema(model), name=name) for name, model in models.items()}
    return StaticCatalog(dialect=dialect, models=dict(models), tables=tables, links=list(SHOP_LINKS))


def duckdb_catalog(data: Mapping[str, Sequence[Mapping[str, Any]]]) -> StaticCatalog:
    """Load ``data`` (model name → rows) into an in-memory DuckDB; tables are bound Ibis tables."""
    con = ibis.duckdb.connect()
    tables = {}
    for name, model in SHOP_MODELS.items():
        arrow = arrow_table(model, data.get(name, []))
        con.con.register(f"{name}_arrow", arrow)
        casts = ", ".join(_duck_cast(field, info.type) for field, info in model.fields.items())
        con.raw_sql(f'CREATE TABLE "{name}" AS SELECT {casts} FROM "{name}_arrow"')
        con.con.unregister(f"{name}_arrow")
        tables[name] = con.table(name)
    return StaticCatalog(dialect="duckdb", models=dict(SHOP_MODELS), tables=tables, links=list(SHOP_LINKS))


def _duck_cast(field: str, field_type: FieldType) -> str:
    if field_type == F.JSON:
        return f'CAST("{field}" AS JSON) AS "{field}"'
    return f'"{field}"'


@dataclass
class SqlCatalog:
    """A catalog whose expressions are compiled to ``dialect`` and run by ``run_sql`` (any DB-API)."""

    dialect: str
    run_sql: Callable[[str], pa.Table]
    inner: StaticCatalog

    def model(self, name: str) -> ModelInfo:
        return self.inner.model(name)

    def table(self, name: str, *, fields: Any = None) -> Any:
        return self.inner.table(name, fields=fields)

    def relationships(self, name: str) -> list[RelationshipInfo]:
        return self.inner.relationships(name)

    def to_pyarrow(self, expr: Any) -> pa.Table:
        return self.run_sql(ibis.to_sql(expr, dialect=self.dialect))
