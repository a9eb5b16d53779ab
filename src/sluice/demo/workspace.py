"""The ready-to-use demo workspace: models, segments, destinations on the local emulators, activations.

Idempotent: objects are found by name and kept. The emulators keep their state in memory, so each
start of the demo resets the demo activations' snapshots (the next run resends their audience to
the fresh emulators); a real destination never needs that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sluice.demo.models import seed_demo_models
from sluice.destinations import registry
from sluice.destinations.emulation import Emulator
from sluice.segments.demo import (
    CART_ABANDONERS,
    CHURN_RISK,
    LOOKALIKE,
    NEWSLETTER,
    VIP_FRANCE,
    seed_demo_segments,
)
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.activations import Activation
from sluice.store.tables.destinations import Destination
from sluice.store.tables.segments import Segment

DEMO_DESTINATIONS = {
    "mailchimp": "Mailchimp (emulator)",
    "intercom": "Intercom (emulator)",
    "voyado": "Voyado (emulator)",
    "braze": "Braze (emulator)",
    "klaviyo": "Klaviyo (emulator)",
    "hubspot": "HubSpot (emulator)",
    "brevo": "Brevo (emulator)",
    "iterable": "Iterable (emulator)",
    "sendgrid": "SendGrid (emulator)",
    "zendesk": "Zendesk (emulator)",
    "emarsys": "Emarsys (emulator)",
    "meta": "Meta Custom Audiences (emulator)",
    "google_ads": "Google Ads Customer Match (emulator)",
    "tiktok": "TikTok (emulator)",
}


@dataclass(frozen=True)
class DemoActivation:
    name: str
    segment: str
    destination: str
    target: dict[str, Any]
    identifier: dict[str, str]
    mapping: list[dict[str, str]] = field(default_factory=list)
    service: str = "membership"


DEMO_ACTIVATIONS = (
    DemoActivation(
        name="VIP France → Mailchimp",
        segment=VIP_FRANCE,
        destination="mailchimp",
        target={"kind": "static_segment", "name": "VIP France", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
        mapping=[
            {"source": "first_name", "destination": "FNAME"},
            {"source": "last_name", "destination": "LNAME"},
        ],
    ),
    DemoActivation(
        name="Cart abandoners → Intercom",
        segment=CART_ABANDONERS,
        destination="intercom",
        target={"kind": "tag", "name": "cart-abandoner", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Newsletter → Mailchimp",
        segment=NEWSLETTER,
        destination="mailchimp",
        target={"kind": "static_segment", "name": "Newsletter", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="VIP France → Braze",
        segment=VIP_FRANCE,
        destination="braze",
        target={"kind": "attribute", "name": "VIP France", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Newsletter → Klaviyo",
        segment=NEWSLETTER,
        destination="klaviyo",
        target={"kind": "list", "name": "Newsletter", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Cart abandoners → HubSpot",
        segment=CART_ABANDONERS,
        destination="hubspot",
        target={"kind": "list", "name": "Cart abandoners", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Newsletter → Brevo",
        segment=NEWSLETTER,
        destination="brevo",
        target={"kind": "list", "name": "Newsletter", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Newsletter → Iterable",
        segment=NEWSLETTER,
        destination="iterable",
        target={"kind": "list", "name": "Newsletter", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Cart abandoners → SendGrid",
        segment=CART_ABANDONERS,
        destination="sendgrid",
        target={"kind": "list", "name": "Cart abandoners", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Newsletter → Emarsys",
        segment=NEWSLETTER,
        destination="emarsys",
        target={"kind": "contact_list", "name": "Newsletter", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Lookalike seed → Meta custom audience",
        segment=LOOKALIKE,
        destination="meta",
        target={"kind": "custom_audience", "name": "Lookalike seed", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="VIP France → Google Ads Customer Match",
        segment=VIP_FRANCE,
        destination="google_ads",
        target={"kind": "user_list", "name": "VIP France", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="Churn risk → TikTok audience",
        segment=CHURN_RISK,
        destination="tiktok",
        target={"kind": "custom_audience", "name": "Churn risk", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    ),
    DemoActivation(
        name="VIP France → Zendesk users",
        segment=VIP_FRANCE,
        destination="zendesk",
        target={"kind": "user"},
        identifier={"field": "email", "kind": "email"},
        mapping=[
            {"source": "full_name", "destination": "name"},
            {"source": "loyalty_tier", "destination": "tier"},
        ],
        service="upsert",
    ),
    DemoActivation(
        name="VIP France → Intercom contacts",
        segment=VIP_FRANCE,
        destination="intercom",
        target={"kind": "contact"},
        identifier={"field": "email", "kind": "email"},
        mapping=[
            {"source": "full_name", "destination": "name"},
            {"source": "loyalty_tier", "destination": "tier"},
        ],
        service="upsert",
    ),
)


@dataclass
class DemoWorkspace:
    workspace_id: str
    segments_created: list[str]
    destinations: dict[str, str]
    activations: dict[str, str]


def seed_demo_workspace(
    database: Database,
    *,
    warehouse: Path,
    emulators_url: str,
    emulators: Mapping[str, Emulator] | None = None,
) -> DemoWorkspace:
    """Create (or find) every demo object in the default workspace; see the module docstring.

    ``emulators`` are the running emulators behind ``emulators_url``: destinations whose emulator
    issues credentials (OAuth refresh tokens) take them from the running instance.
    """
    with database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(database, workspace_id, warehouse)
    segment_ids = seed_demo_segments(database, workspace_id)
    with database.session() as session:
        destinations = {}
        for type_name, name in DEMO_DESTINATIONS.items():
            destination = session.scalars(
                select(Destination).where(Destination.workspace_id == workspace_id, Destination.name == name)
            ).first()
            running = (emulators or {}).get(type_name) or registry.emulator_class(type_name)()
            config = running.connector_config(f"{emulators_url.rstrip('/')}/{type_name}")
            model = registry.get(type_name).config_model
            secret_names = set(model.secret_field_names())
            if destination is None:
                destination = Destination(workspace_id=workspace_id, name=name, type=type_name)
                session.add(destination)
            destination.config = {k: v for k, v in config.items() if k not in secret_names}
            destination.write_secrets(
                database.secrets, {k: v for k, v in config.items() if k in secret_names}
            )
            session.flush()
            destinations[type_name] = destination.id
        segments = {
            row.name: row.id
            for row in session.scalars(select(Segment).where(Segment.workspace_id == workspace_id))
        }
        activations = {}
        for demo in DEMO_ACTIVATIONS:
            activation = session.scalars(
                select(Activation).where(
                    Activation.workspace_id == workspace_id, Activation.name == demo.name
                )
            ).first()
            if activation is None:
                activation = Activation(
                    workspace_id=workspace_id,
                    name=demo.name,
                    segment_id=segments[demo.segment],
                    destination_id=destinations[demo.destination],
                    service=demo.service,
                    target=demo.target,
                    identifier=demo.identifier,
                    mapping=demo.mapping,
                    schedule={"kind": "manual"},
                    settings={},
                )
                session.add(activation)
            # Fresh emulators hold nothing: start from an empty snapshot and a target found by name.
            activation.snapshot_uri = None
            activation.snapshot_rows = 0
            activation.snapshot_signature = None
            activation.target = {**activation.target, "id": None}
            session.flush()
            activations[demo.name] = activation.id
    return DemoWorkspace(workspace_id, segment_ids, destinations, activations)
