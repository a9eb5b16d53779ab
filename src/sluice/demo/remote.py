"""The demo's remote segment: a quarter of the Intercom emulator's contacts carry the tag
``engaged`` (as if tagged by an Intercom workflow), imported as the remote segment
"Engaged in Intercom" over the users model and refreshed once at start-up."""

from __future__ import annotations

from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.workspace import DemoWorkspace
from sluice.destinations.emulators import keeps
from sluice.destinations.intercom.emulator import IntercomEmulator
from sluice.destinations.sdk import Target, TargetSpec
from sluice.segments.remote_refresh import (
    RefreshAlreadyActive,
    RefreshTrigger,
    execute_refresh,
    request_refresh,
)
from sluice.store.db import Database
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment

DEMO_REMOTE_SEGMENT = "Engaged in Intercom"
DEMO_TAG = "engaged"
ENGAGED_SHARE = 0.25


def seed_demo_remote_segment(
    database: Database, settings: Settings, workspace: DemoWorkspace, emulators: BackgroundEmulators
) -> str | None:
    """Tag the engaged contacts in Intercom, create (or point) the remote segment, refresh it.

    Returns the refresh's final state, or None when the demo has no Intercom destination.
    """
    intercom = emulators.emulators.get("intercom")
    destination_id = workspace.destinations.get("intercom")
    if not isinstance(intercom, IntercomEmulator) or destination_id is None:
        return None
    intercom.seed_targets([DEMO_TAG], TargetSpec(kind="tag", name=DEMO_TAG))
    tag_id = next(tid for tid, name in intercom.tags.items() if name == DEMO_TAG)
    engaged = [
        c.email for c in intercom.contacts.values() if c.email and keeps(f"engaged:{c.email}", ENGAGED_SHARE)
    ]
    intercom.seed_members(Target("tag", tag_id, DEMO_TAG), engaged)
    with database.session() as session:
        users = session.scalar(
            select(Model).where(Model.workspace_id == workspace.workspace_id, Model.name == "users")
        )
        if users is None:
            return None
        segment = session.scalar(
            select(Segment).where(
                Segment.workspace_id == workspace.workspace_id, Segment.name == DEMO_REMOTE_SEGMENT
            )
        )
        if segment is None:
            segment = Segment(
                workspace_id=workspace.workspace_id,
                name=DEMO_REMOTE_SEGMENT,
                description="Contacts an Intercom workflow tagged 'engaged', enriched with the users model.",
                model_id=users.id,
                type="remote",
                refresh_schedule={"kind": "interval", "hours": 1},
            )
            session.add(segment)
        segment.remote = {
            "destination_id": destination_id,
            "remote_id": tag_id,
            "remote_kind": "tag",
            "identifier_field": "email",
            "remote_identifier": "email",
        }
        session.flush()
        try:
            refresh_id = request_refresh(
                session, segment, trigger=RefreshTrigger.MANUAL, requested_by="demo"
            ).id
        except RefreshAlreadyActive:
            return None
    return execute_refresh(database, settings, refresh_id, worker="demo")
