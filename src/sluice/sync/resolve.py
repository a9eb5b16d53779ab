"""Resolve an activation into what a run needs: the audience query and an open destination.

The segment is compiled against its source's model catalog into one Ibis query (see
:mod:`sluice.sync.extract`); the destination's connector is opened with decrypted secrets, the
target is found or created, and :class:`Delivery` adapts the pipeline's batches to the SDK's
:func:`~sluice.destinations.delivery.deliver`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from sluice.destinations import registry
from sluice.destinations import service as destination_service
from sluice.destinations.sdk import Connector, Service, TargetSpec
from sluice.schemas.activations import ActivationSettings, DiffMode, FullRefreshBehaviour, IdentifierSpec
from sluice.store.db import Database
from sluice.store.scoped import get_scoped
from sluice.store.tables.activations import Activation
from sluice.store.tables.destinations import Destination
from sluice.sync.audience import AudienceSpec
from sluice.sync.extract import FieldMapping, audience_expression, extract_batches
from sluice.sync.load import Delivery
from sluice.sync.plan import RemovalBehaviour
from sluice.sync.segment_source import open_segment_rows
from sluice.warehouse.connection import Warehouse


@dataclass
class ResolvedActivation:
    """Everything a run of one activation needs, opened lazily."""

    spec: AudienceSpec
    service: Service
    removal: RemovalBehaviour
    batch_rows: int
    audience: Any
    target_spec: TargetSpec
    connector: Connector
    full_refresh: FullRefreshBehaviour
    diff_mode: DiffMode
    warehouse: Warehouse
    bookkeeping_schema: str | None
    close_source: Callable[[], None] = field(default=lambda: None)
    delivery: Delivery | None = None

    def extract(self) -> pa.RecordBatchReader:
        """Run the audience query; stream its rows."""
        return extract_batches(self.audience)

    def count_audience(self) -> int:
        """Rows in the audience, counted by the warehouse."""
        counted = self.warehouse.to_pyarrow(self.audience.aggregate(n=self.audience.count()))
        return int(counted["n"][0].as_py())

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Delivery]:
        """Open the destination and find or create the target for the duration of the run.

        The warehouse connection is closed by the runner (:attr:`close_source`), whatever happens.
        """
        async with self.connector as connector:
            target = await connector.ensure_target(self.target_spec)
            self.delivery = Delivery(connector, target, self.full_refresh)
            yield self.delivery


def resolve_activation(session: Session, database: Database, activation: Activation) -> ResolvedActivation:
    """Compile the activation's segment and prepare its destination (raises with a user message)."""
    destination = get_scoped(
        session, Destination, activation.destination_id, activation.workspace_id, "destination"
    )
    connector_class = registry.get(destination.type)
    settings = ActivationSettings.model_validate(activation.settings or {})
    identifier = IdentifierSpec.model_validate(activation.identifier)
    mapping = [FieldMapping(m["source"], m["destination"]) for m in activation.mapping]
    segment_rows = open_segment_rows(
        session,
        database,
        activation.workspace_id,
        activation.segment_id,
        fields=[identifier.field, *(m.source for m in mapping)],
    )
    expression = audience_expression(
        segment_rows.rows,
        primary_key=segment_rows.primary_key,
        identifier_field=identifier.field,
        identifier_kind=identifier.kind,
        mapping=mapping,
    )
    target = activation.target or {}
    connector = destination_service.connect(destination, database.secrets, database=database)

    return ResolvedActivation(
        spec=AudienceSpec(identifier.kind, tuple(m.destination for m in mapping)),
        service=Service(activation.service),
        removal=settings.removal,
        batch_rows=settings.batch_rows or max(connector_class.capabilities.batch_size, 1000),
        audience=expression,
        target_spec=TargetSpec(
            kind=target.get("kind", ""),
            name=target.get("name") or "",
            id=target.get("id"),
            parent_id=target.get("parent_id"),
            create_if_missing=bool(target.get("create_if_missing", False)),
            identifier_kind=identifier.kind,
        ),
        connector=connector,
        full_refresh=settings.full_refresh,
        diff_mode=settings.diff_mode,
        warehouse=segment_rows.warehouse,
        bookkeeping_schema=segment_rows.bookkeeping_schema,
        close_source=segment_rows.close,
    )
