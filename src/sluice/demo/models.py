"""The demo workspace's source and models over the demo warehouse (idempotent)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.models.calculations import AggregateFunction, RelatedAggregate, RowExpression
from sluice.models.catalog import ModelType, RelationshipKind
from sluice.models.service import add_field, create_model, create_relationship
from sluice.schemas.models import FieldSpec, ModelCreate, RelationshipCreate, TableRef
from sluice.store.db import Database
from sluice.store.tables.models import Model
from sluice.store.tables.sources import Source
from sluice.warehouse.configs import DuckDBConfig, public_config
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.open import open_warehouse

DEMO_SOURCE_NAME = "Demo warehouse"

_MEANINGS = {
    "users": {
        "email": "email",
        "phone": "phone",
        "first_name": "first_name",
        "last_name": "last_name",
        "gender": "gender",
        "country": "country",
        "city": "city",
        "birth_date": "birth_date",
        "crm_id": "external_id",
        "created_at": "created_at",
        "email_consent": "email_consent",
        "sms_consent": "sms_consent",
    },
    "companies": {"name": "company_name", "domain": "domain", "country": "country"},
    "orders": {"total": "revenue", "currency": "currency"},
    "events": {"event_name": "event_name", "anonymous_id": "anonymous_id"},
}
_CATEGORICAL = {
    "users": {"country", "loyalty_tier", "gender"},
    "companies": {"industry", "country"},
    "products": {"category", "brand"},
    "orders": {"status", "channel", "currency"},
    "events": {"event_name"},
}
_MODELS: list[tuple[str, ModelType, str, str | None]] = [
    ("companies", ModelType.CUSTOM, "company_id", None),
    ("products", ModelType.CUSTOM, "product_id", None),
    ("users", ModelType.USERS, "user_id", None),
    ("orders", ModelType.EVENTS, "order_id", "ordered_at"),
    ("order_items", ModelType.CUSTOM, "order_item_id", None),
    ("events", ModelType.EVENTS, "event_id", "occurred_at"),
]
# (from model, kind, to model, from field, to field)
_RELATIONSHIPS = [
    ("users", RelationshipKind.BELONGS_TO, "companies", "company_id", "company_id"),
    ("users", RelationshipKind.HAS_MANY, "orders", "user_id", "user_id"),
    ("orders", RelationshipKind.HAS_MANY, "order_items", "order_id", "order_id"),
    ("order_items", RelationshipKind.BELONGS_TO, "products", "product_id", "product_id"),
    ("users", RelationshipKind.HAS_MANY, "events", "user_id", "user_id"),
]
_COMPLETED = "status = 'completed'"
_CALCULATED: list[tuple[str, FieldSpec]] = [
    (
        "users",
        FieldSpec(
            name="total_spent",
            description="Lifetime spend: sum of completed order totals.",
            calculation=RelatedAggregate(
                relationship="orders", function=AggregateFunction.SUM, field="total", filter=_COMPLETED
            ),
        ),
    ),
    (
        "users",
        FieldSpec(
            name="order_count",
            description="Number of completed orders.",
            calculation=RelatedAggregate(
                relationship="orders", function=AggregateFunction.COUNT, filter=_COMPLETED
            ),
        ),
    ),
    (
        "users",
        FieldSpec(
            name="last_order_at",
            description="When the user last ordered.",
            calculation=RelatedAggregate(
                relationship="orders", function=AggregateFunction.MAX, field="ordered_at"
            ),
        ),
    ),
    (
        "users",
        FieldSpec(
            name="full_name",
            meaning="full_name",
            calculation=RowExpression(expression="first_name || ' ' || last_name"),
        ),
    ),
    (
        "order_items",
        FieldSpec(name="line_total", calculation=RowExpression(expression="quantity * unit_price")),
    ),
]


def seed_demo_models(database: Database, workspace_id: str, demo_path: Path | str) -> None:
    """Create the "Demo warehouse" DuckDB source and the demo models in ``workspace_id``.

    Idempotent: existing objects (matched by name) are left as they are, missing ones are added.
    """
    # Read-only, so the API server and any number of workers can open the file at once (DuckDB
    # allows one writer or many readers); without a bookkeeping schema, diffs run in local DuckDB.
    config = DuckDBConfig(
        path=str(Path(demo_path).expanduser().resolve()), read_only=True, bookkeeping_schema=None
    )
    with database.session() as session, open_warehouse(config) as warehouse:
        source = session.scalar(
            select(Source).where(Source.workspace_id == workspace_id, Source.name == DEMO_SOURCE_NAME)
        )
        if source is None:
            source = Source(
                workspace_id=workspace_id,
                name=DEMO_SOURCE_NAME,
                type="duckdb",
                description="Seeded e-commerce data with deliberate dirt (sluice demo init).",
                config=public_config(config),
            )
            session.add(source)
            session.flush()
        models = _seed_models(session, workspace_id, source.id, warehouse)
        _seed_relationships(session, models, warehouse)
        for model_name, spec in _CALCULATED:
            model = models[model_name]
            if all(item.name != spec.name for item in model.fields):
                add_field(session, model, spec, warehouse)


def _seed_models(
    session: Session, workspace_id: str, source_id: str, warehouse: Warehouse
) -> dict[str, Model]:
    existing = {
        row.name: row
        for row in session.scalars(
            select(Model).where(Model.workspace_id == workspace_id, Model.source_id == source_id)
        )
    }
    for name, kind, key, stamp in _MODELS:
        if name in existing:
            continue
        columns = warehouse.table(warehouse.default_schema, name).columns
        fields = [
            FieldSpec(
                name=column,
                column=column,
                meaning=_MEANINGS.get(name, {}).get(column),
                categorical=column in _CATEGORICAL.get(name, set()),
            )
            for column in columns
        ]
        body = ModelCreate(
            name=name,
            source_id=source_id,
            type=kind,
            table=TableRef(schema=warehouse.default_schema, name=name),
            primary_key=key,
            timestamp_field=stamp,
            fields=fields,
        )
        existing[name] = create_model(session, workspace_id, body, warehouse)
    return existing


def _seed_relationships(session: Session, models: dict[str, Model], warehouse: Warehouse) -> None:
    from sluice.store.tables.models import ModelRelationship

    for source_name, kind, target_name, from_field, to_field in _RELATIONSHIPS:
        model, target = models[source_name], models[target_name]
        exists = session.scalar(
            select(ModelRelationship).where(
                ModelRelationship.from_model_id == model.id, ModelRelationship.name == target_name
            )
        )
        if exists is None:
            body = RelationshipCreate(
                kind=kind, to_model_id=target.id, from_field=from_field, to_field=to_field
            )
            create_relationship(session, model, body, warehouse)
