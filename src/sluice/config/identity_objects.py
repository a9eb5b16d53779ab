"""Identity graphs in ``sluice.yaml``: compare with the store, plan, apply.

A graph is matched by name; its spec is the API's (:class:`sluice.identity.spec.IdentitySpec`)
written inline next to ``name``, ``source``, ``description`` and ``schedule`` (as for activations:
manual, interval, cron, daily, weekly). Applying saves the graph; runs happen on schedule, with
``sluice identity run`` or the API (a plan never touches the warehouse).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.config.changes import ApplyContext, Change
from sluice.core.errors import InvalidInput
from sluice.identity import graphs
from sluice.identity.schedules import check_schedule
from sluice.identity.spec import IdentitySpec
from sluice.schemas.identity import IdentityGraphCreate, IdentityGraphUpdate
from sluice.store.tables.identity import IdentityGraph
from sluice.store.tables.sources import Source

# After models (phases 0-4), before destinations (10).
IDENTITY = 5


class IdentityGraphDoc(IdentitySpec):
    """An identity graph in the file: the spec's keys plus ``name``, ``source``, ``description``
    and ``schedule``."""

    name: str
    source: str
    description: str = ""
    schedule: dict[str, Any] | None = None

    def spec(self) -> IdentitySpec:
        return IdentitySpec.model_validate(
            self.model_dump(exclude={"name", "source", "description", "schedule"})
        )


def _timed(schedule: dict[str, Any] | None) -> dict[str, Any] | None:
    """A schedule for comparison: manual and none are the same."""
    return schedule if schedule and schedule.get("kind") != "manual" else None


def identity_changes(session: Session, workspace_id: str, doc: IdentityGraphDoc) -> list[Change]:
    """The change making the stored graph named ``doc.name`` match ``doc`` (none if equal)."""
    row = session.scalar(
        select(IdentityGraph).where(
            IdentityGraph.workspace_id == workspace_id, IdentityGraph.name == doc.name
        )
    )
    spec = doc.spec()
    schedule = _timed(check_schedule(session, workspace_id, doc.schedule)) if doc.schedule else None
    if row is None:

        def create(ctx: ApplyContext) -> None:
            source = ctx.source(doc.source)
            body = IdentityGraphCreate(
                name=doc.name,
                description=doc.description,
                source_id=source.id,
                spec=spec,
                schedule=schedule,
            )
            graphs.create_graph(ctx.session, ctx.workspace_id, body, ctx.box)

        detail = f"{len(spec.inputs)} input(s), {len(spec.rules)} rule(s)"
        return [Change(IDENTITY, "create", "identity graph", doc.name, detail, create)]
    source = session.scalar(
        select(Source).where(Source.workspace_id == workspace_id, Source.name == doc.source)
    )
    if source is not None and source.id != row.source_id:
        raise InvalidInput(f"identity graph {doc.name!r} reads another source; its source cannot change")
    differences = []
    if graphs.spec_of(row).model_dump(mode="json") != spec.model_dump(mode="json"):
        differences.append("spec")
    if row.description != doc.description:
        differences.append("description")
    if _timed(row.schedule) != schedule:
        differences.append("schedule")
    if not differences:
        return []

    def update(ctx: ApplyContext) -> None:
        target = ctx.session.get(IdentityGraph, row.id)
        assert target is not None
        body = IdentityGraphUpdate(
            description=doc.description, spec=spec, schedule=schedule or {"kind": "manual"}
        )
        graphs.update_graph(ctx.session, target, body)

    return [Change(IDENTITY, "update", "identity graph", doc.name, ", ".join(differences), update)]
