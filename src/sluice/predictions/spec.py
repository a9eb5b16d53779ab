"""What a predictor is configured with, and the inputs it resolves to on a source's models.

Every setting has a default found from the models and their relationships (the purchases are the
users model's events-type relationship whose model has a ``revenue`` field, the engagement is every
other events-type relationship, the items are what the purchase lines belong to), so the demo
workspace needs no configuration at all; each can be named explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from sluice.core.errors import InvalidInput
from sluice.models.catalog import (
    FieldType,
    ModelCatalog,
    ModelInfo,
    ModelType,
    RelationshipInfo,
    RelationshipKind,
)

TIME_TYPES = (FieldType.TIMESTAMP, FieldType.DATE)
NUMBER_TYPES = (FieldType.INTEGER, FieldType.FLOAT, FieldType.DECIMAL)
MAX_USER_CATEGORIES = 6


class PredictorKind(StrEnum):
    CHURN = "churn"
    LTV = "ltv"
    RECOMMENDATIONS = "recommendations"


class PredictorConfig(BaseModel):
    """Settings of a predictor; empty values are found from the models."""

    model_config = ConfigDict(extra="forbid")

    horizon_days: int = Field(default=90, ge=7, le=730, description="How far ahead to predict, in days.")
    training_windows: int = Field(
        default=3, ge=1, le=8, description="Past horizons stacked as training data (more covers seasons)."
    )
    purchases: str | None = Field(default=None, description="Relationship from the users model to purchases.")
    amount_field: str | None = Field(default=None, description="Field of the purchases holding the amount.")
    purchase_filter: str | None = Field(
        default=None, max_length=2000, description="SQL predicate on purchases, e.g. status = 'completed'."
    )
    activity: list[str] | None = Field(
        default=None, description="Relationships to events models used as engagement (default: all others)."
    )
    items: str | None = Field(default=None, description="Relationship from purchases to their lines.")
    item_field: str | None = Field(default=None, description="Field of the lines naming the product.")
    top_n: int = Field(default=10, ge=1, le=50, description="Recommendations kept per user.")
    exclude_purchased: bool = Field(default=True, description="Never recommend what the user already bought.")
    field_name: str | None = Field(
        default=None, pattern=r"^[a-z_][a-z0-9_]*$", description="Name of the main field on the users model."
    )


@dataclass(frozen=True)
class EventInput:
    """An events model reached from the users model, with its timestamp and category field."""

    link: RelationshipInfo
    timestamp: str
    category: str | None


@dataclass(frozen=True)
class Inputs:
    """A predictor's configuration resolved against a catalog."""

    users: ModelInfo
    signup: str | None
    user_categories: list[str]
    purchases: EventInput
    amount: str | None
    purchase_filter: str | None
    purchase_categories: list[str]
    activity: list[EventInput] = field(default_factory=list)
    items: RelationshipInfo | None = None
    item_field: str | None = None


def resolve_inputs(catalog: ModelCatalog, users_model: str, config: PredictorConfig) -> Inputs:
    """Find every input of a predictor on ``catalog`` (clear error when one is missing)."""
    users = catalog.model(users_model)
    if users.type != ModelType.USERS:
        raise InvalidInput(f"predictions run on a users model; {users.name!r} is a {users.type} model")
    links = [link for link in catalog.relationships(users.name) if link.kind == RelationshipKind.HAS_MANY]
    event_links = [link for link in links if _timestamp(catalog.model(link.to_model)) is not None]
    purchases = _purchases(catalog, event_links, config)
    purchase_model = catalog.model(purchases.to_model)
    amount = config.amount_field or _with_meaning(purchase_model, "revenue", NUMBER_TYPES)
    if amount is not None and amount not in purchase_model.fields:
        raise InvalidInput(f"model {purchase_model.name!r} has no field {amount!r}")
    chosen = config.activity
    activity = [link for link in event_links if link.name != purchases.name]
    if chosen is not None:
        unknown = sorted(set(chosen) - {link.name for link in activity})
        if unknown:
            raise InvalidInput(f"{unknown[0]!r} is not an events relationship of model {users.name!r}")
        activity = [link for link in activity if link.name in chosen]
    items, item_field = _items(catalog, purchase_model, config)
    signup = _with_meaning(users, "created_at", TIME_TYPES) or users.timestamp_field
    return Inputs(
        users=users,
        signup=signup,
        user_categories=_categories(users, exclude={users.primary_key}),
        purchases=_event_input(catalog, purchases),
        amount=amount,
        purchase_filter=config.purchase_filter,
        purchase_categories=_categories(purchase_model, exclude={purchases.to_field}),
        activity=[_event_input(catalog, link) for link in activity],
        items=items,
        item_field=item_field,
    )


def _purchases(
    catalog: ModelCatalog, event_links: list[RelationshipInfo], config: PredictorConfig
) -> RelationshipInfo:
    if config.purchases is not None:
        for link in event_links:
            if link.name == config.purchases:
                return link
        raise InvalidInput(
            f"{config.purchases!r} is not a has-many relationship to a model with a timestamp field"
        )
    with_revenue = [
        link
        for link in event_links
        if _with_meaning(catalog.model(link.to_model), "revenue", NUMBER_TYPES) is not None
    ]
    found = with_revenue or event_links
    if not found:
        raise InvalidInput(
            "the users model has no has-many relationship to a model with a timestamp field; "
            "add one (e.g. users has many orders) to train predictions"
        )
    return found[0]


def _items(
    catalog: ModelCatalog, purchase_model: ModelInfo, config: PredictorConfig
) -> tuple[RelationshipInfo | None, str | None]:
    lines = [
        link
        for link in catalog.relationships(purchase_model.name)
        if link.kind == RelationshipKind.HAS_MANY and (config.items is None or link.name == config.items)
    ]
    for link in lines:
        if config.item_field is not None:
            if config.item_field in catalog.model(link.to_model).fields:
                return link, config.item_field
            continue
        owners = [
            other
            for other in catalog.relationships(link.to_model)
            if other.kind == RelationshipKind.BELONGS_TO and other.to_model != purchase_model.name
        ]
        if owners:
            return link, owners[0].from_field
    if config.items is not None:
        raise InvalidInput(
            f"{config.items!r} is not a has-many relationship of model {purchase_model.name!r}"
        )
    return None, None


def _event_input(catalog: ModelCatalog, link: RelationshipInfo) -> EventInput:
    model = catalog.model(link.to_model)
    stamp = _timestamp(model)
    assert stamp is not None
    category = _with_meaning(model, "event_name", (FieldType.STRING,))
    if category is None:
        categories = _categories(model, exclude={link.to_field})
        category = categories[0] if categories else None
    return EventInput(link=link, timestamp=stamp, category=category)


def _timestamp(model: ModelInfo) -> str | None:
    if model.timestamp_field and model.fields[model.timestamp_field].type in TIME_TYPES:
        return model.timestamp_field
    return None


def _with_meaning(model: ModelInfo, meaning: str, types: tuple[FieldType, ...]) -> str | None:
    return next(
        (
            info.name
            for info in model.fields.values()
            if info.meaning == meaning and info.type in types and not info.broken_reason
        ),
        None,
    )


def _categories(model: ModelInfo, *, exclude: set[str]) -> list[str]:
    names = [
        info.name
        for info in model.fields.values()
        if info.categorical
        and info.type == FieldType.STRING
        and not info.calculated
        and not info.broken_reason
        and info.name not in exclude
    ]
    return names[:MAX_USER_CATEGORIES]
