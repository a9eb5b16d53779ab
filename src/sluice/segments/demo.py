"""The demo workspace's five segments over the demo models; together they use every condition kind.

Kinds used: nested groups with ``or`` and negation, property operators on text / numbers / booleans /
dates (absolute and relative), calculated fields (``total_spent``, ``line_total``), relations
(exists, not exists, multi-hop, aggregates), events (performed / did not perform, counts, windows,
JSON property filters), segment membership and exclusions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sluice.schemas.segments import SegmentDefinition
from sluice.store.db import Database
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment


def _prop(field: str, operator: str, **operands: Any) -> dict[str, Any]:
    return {"kind": "property", "field": field, "operator": operator, **operands}


def _event(name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "event", "relationship": "events", "event_name": name, **extra}


VIP_FRANCE = "VIP spenders in France"
CART_ABANDONERS = "Cart abandoners (last 7 days)"
CHURN_RISK = "Churn risk"
NEWSLETTER = "Newsletter opt-ins with a valid email"
LOOKALIKE = "Lookalike seed"

DEMO_SEGMENTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        VIP_FRANCE,
        "French gold/platinum members who spent over 1,000 on completed orders.",
        {
            "conditions": {
                "conditions": [
                    _prop("country", "equals", value="FR"),
                    _prop("loyalty_tier", "in", values=["gold", "platinum"]),
                    _prop("total_spent", "gt", value=1000),
                ]
            }
        },
    ),
    (
        CART_ABANDONERS,
        "Added to cart in the last 7 days without purchasing, and reachable by email.",
        {
            "conditions": {
                "conditions": [
                    _event("add_to_cart", window={"kind": "last_days", "days": 7}),
                    _event("purchase", negate=True, window={"kind": "last_days", "days": 7}),
                    _prop("email_consent", "equals", value=True),
                ]
            }
        },
    ),
    (
        CHURN_RISK,
        "Customers with no order in 180 days who still opened an email in the last 30.",
        {
            "conditions": {
                "conditions": [
                    {
                        "kind": "relation",
                        "path": ["orders"],
                        "where": {"conditions": [_prop("status", "equals", value="completed")]},
                    },
                    {
                        "kind": "relation",
                        "path": ["orders"],
                        "negate": True,
                        "where": {"conditions": [_prop("ordered_at", "within_last_days", days=180)]},
                    },
                    _event("email_open", window={"kind": "last_days", "days": 30}),
                ]
            }
        },
    ),
    (
        NEWSLETTER,
        "Email consent, a well-formed address, signed up over a week ago; churn risks left out.",
        {
            "conditions": {
                "conditions": [
                    _prop("email_consent", "equals", value=True),
                    _prop("email", "contains", value="@"),
                    {
                        "kind": "group",
                        "op": "or",
                        "negate": True,
                        "conditions": [
                            _prop("email", "contains", value=" "),
                            _prop("email", "contains", value="@@"),
                            _prop("email", "starts_with", value="@"),
                            _prop("email", "ends_with", value="@"),
                        ],
                    },
                    _prop("created_at", "more_than_days_ago", days=7),
                ]
            },
            "exclusions": [{"kind": "segment", "segment_id": CHURN_RISK}],
        },
    ),
    (
        LOOKALIKE,
        "Seed for lookalike audiences: French VIPs, or frequent shoe buyers who purchased over 250 "
        "in the last year; minus churn risks.",
        {
            "conditions": {
                "op": "or",
                "conditions": [
                    {"kind": "segment", "segment_id": VIP_FRANCE},
                    {
                        "kind": "group",
                        "conditions": [
                            {
                                "kind": "relation",
                                "path": ["orders", "order_items"],
                                "where": {
                                    "conditions": [
                                        {
                                            "kind": "relation",
                                            "path": ["products"],
                                            "where": {
                                                "conditions": [_prop("category", "equals", value="Shoes")]
                                            },
                                        }
                                    ]
                                },
                                "aggregate": {
                                    "function": "sum",
                                    "field": "line_total",
                                    "operator": "gte",
                                    "value": 300,
                                },
                            },
                            _event(
                                "purchase",
                                frequency={"operator": "at_least", "count": 2},
                                window={"kind": "last_days", "days": 365},
                                where={
                                    "conditions": [
                                        _prop("properties", "gt", path=["revenue"], value=250),
                                    ]
                                },
                            ),
                        ],
                    },
                ],
            },
            "exclusions": [{"kind": "segment", "segment_id": CHURN_RISK}],
        },
    ),
]


def seed_demo_segments(database: Database, workspace_id: str) -> list[str]:
    """Create the demo segments on the demo ``users`` model (idempotent, matched by name).

    Membership conditions name other demo segments; they are rewritten to those segments' ids.
    Returns the names of the segments created.
    """
    created: list[str] = []
    with database.session() as session:
        users = session.scalar(select(Model).where(Model.workspace_id == workspace_id, Model.name == "users"))
        if users is None:
            return created
        ids = {
            row.name: row.id
            for row in session.scalars(select(Segment).where(Segment.workspace_id == workspace_id))
        }
        for name, description, tree in DEMO_SEGMENTS:
            if name in ids:
                continue
            definition = SegmentDefinition.model_validate(_with_ids(tree, ids))
            row = Segment(
                workspace_id=workspace_id,
                name=name,
                description=description,
                model_id=users.id,
                type="conditions",
                definition=definition.model_dump(mode="json"),
            )
            session.add(row)
            session.flush()
            ids[name] = row.id
            created.append(name)
    return created


def _with_ids(node: Any, ids: dict[str, str]) -> Any:
    """``tree`` with segment names in membership conditions replaced by ids."""
    if isinstance(node, dict):
        if node.get("kind") == "segment":
            return {**node, "segment_id": ids.get(node["segment_id"], node["segment_id"])}
        return {key: _with_ids(value, ids) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_ids(item, ids) for item in node]
    return node
