"""Refreshing a remote segment: read its members from the destination, store them, match them.

A refresh is a row of ``remote_refreshes`` (queued → running → succeeded | failed) executed by a
worker (:func:`execute_refresh`), the CLI or a test. It

1. reads every member id of the remote object from the destination (``read_members``: all pages,
   the connector's rate limits and retries apply), normalised as the platform identifier asks;
2. writes them as a new members table in the source's bookkeeping schema, or a local file when
   the source is read-only (:mod:`sluice.segments.remote_members`);
3. matches them with the model inside the warehouse: ids read, matched, unmatched (and a sample),
   and the segment's row count;
4. flips the segment's ``members_uri`` to the new membership in the same transaction that marks
   the refresh succeeded, then drops the previous one.

Any failure before the flip — an unknown remote id, an interrupted pagination, an unreachable
warehouse — marks the refresh failed with a clear message, keeps the previous membership and
queues a warning alert. Activations scheduled ``after`` the remote segment run on success.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import Conflict, InvalidInput, SluiceError
from sluice.core.logging import get_logger
from sluice.core.settings import Settings
from sluice.destinations import registry
from sluice.destinations.errors import DestinationError
from sluice.destinations.sdk import Connector, IdentifierKind, TargetSpec
from sluice.destinations.service import connect
from sluice.jobs.alerts import AlertEvent, AlertKind, queue_alert
from sluice.models.stored import load_catalog
from sluice.segments.remote import MEMBER_COLUMN
from sluice.segments.remote_members import (
    drop_members,
    members_arrow,
    members_table,
    normalise_member,
    write_members,
)
from sluice.segments.spec import RemoteSource
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.scoped import get_scoped
from sluice.store.tables.destinations import Destination
from sluice.store.tables.models import Model
from sluice.store.tables.segments import RemoteRefresh, Segment
from sluice.store.tables.sources import Source
from sluice.warehouse.configs import SourceConfig

log = get_logger(__name__)

UNMATCHED_SAMPLE = 20
LOCAL_MEMBERS_DIR = "remote_members"


class RefreshState(StrEnum):
    """Where a refresh is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefreshTrigger(StrEnum):
    """What asked for a refresh."""

    MANUAL = "manual"
    SCHEDULE = "schedule"


ACTIVE_STATES = (RefreshState.QUEUED, RefreshState.RUNNING)


class RefreshAlreadyActive(Conflict):
    """A refresh of this segment is already queued or running."""

    def __init__(self, refresh_id: str) -> None:
        super().__init__(f"a refresh of this segment is already queued or running ({refresh_id})")
        self.refresh_id = refresh_id


def remote_source(segment: Segment) -> RemoteSource:
    """The remote source of a remote segment (a clear error for any other segment)."""
    if segment.type != "remote" or not segment.remote:
        raise InvalidInput(f"segment {segment.name!r} is not a remote segment")
    return RemoteSource(**segment.remote)


def request_refresh(
    session: Session, segment: Segment, *, trigger: RefreshTrigger, requested_by: str
) -> RemoteRefresh:
    """Queue a refresh of ``segment`` (refused while one is queued or running)."""
    remote_source(segment)
    active = session.scalar(
        select(RemoteRefresh.id).where(
            RemoteRefresh.segment_id == segment.id, RemoteRefresh.state.in_(ACTIVE_STATES)
        )
    )
    if active is not None:
        raise RefreshAlreadyActive(active)
    row = RemoteRefresh(
        workspace_id=segment.workspace_id,
        segment_id=segment.id,
        state=RefreshState.QUEUED,
        trigger=trigger,
        requested_by=requested_by,
        unmatched_sample=[],
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise RefreshAlreadyActive("another request") from None
    return row


def _claim(database: Database, refresh_id: str, worker: str) -> bool:
    with database.session() as session:
        result = session.execute(
            update(RemoteRefresh)
            .where(RemoteRefresh.id == refresh_id, RemoteRefresh.state == RefreshState.QUEUED)
            .values(state=RefreshState.RUNNING, started_at=utcnow(), worker=worker)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def execute_refresh(
    database: Database, settings: Settings, refresh_id: str, *, worker: str = "local"
) -> str | None:
    """Run a queued refresh to its end; returns its final state (None when not claimed)."""
    if not _claim(database, refresh_id, worker):
        return None
    started = time.monotonic()
    try:
        _refresh(database, settings, refresh_id)
    except (SluiceError, DestinationError) as exc:
        _fail(database, refresh_id, exc.message)
        return RefreshState.FAILED
    except Exception as exc:  # a bug must not leave the refresh running forever
        log.exception("remote refresh crashed", refresh_id=refresh_id)
        _fail(database, refresh_id, f"internal error: {type(exc).__name__}")
        return RefreshState.FAILED
    log.info("remote segment refreshed", refresh_id=refresh_id, seconds=round(time.monotonic() - started, 3))
    return RefreshState.SUCCEEDED


def _refresh(database: Database, settings: Settings, refresh_id: str) -> None:
    with database.session() as session:
        refresh = session.get(RemoteRefresh, refresh_id)
        assert refresh is not None
        segment = get_scoped(session, Segment, refresh.segment_id, refresh.workspace_id, "segment")
        remote = remote_source(segment)
        model = get_scoped(session, Model, segment.model_id, segment.workspace_id, "model")
        destination = get_scoped(
            session, Destination, remote.destination_id, segment.workspace_id, "destination"
        )
        source = get_scoped(session, Source, model.source_id, segment.workspace_id, "source")
        session.expunge_all()
    check_platform(destination.type)
    read, ids = asyncio.run(
        read_remote_members(
            destination,
            database.secrets,
            remote,
            retry_base_seconds=settings.refresh_retry_base_seconds,
            database=database,
        )
    )
    with database.session() as session:
        catalog = load_catalog(session, segment.workspace_id, model.source_id, secrets=database.secrets)
    try:
        stored = write_members(
            catalog.warehouse,
            _bookkeeping_schema(source),
            members_arrow(ids),
            segment_id=segment.id,
            refresh_id=refresh_id,
            local_dir=settings.data_dir / LOCAL_MEMBERS_DIR,
        )
        try:
            counts = _match(catalog, model.name, remote, stored.uri)
            previous = _commit(database, refresh_id, segment.id, stored.uri, stored.storage, read, counts)
        except BaseException:
            drop_members(stored.uri, catalog.warehouse)
            raise
        drop_members(previous, catalog.warehouse)
    finally:
        catalog.close()


def _bookkeeping_schema(source: Source) -> str | None:
    config = source.config or {}
    if config.get("read_only"):
        return None
    schema = config.get("bookkeeping_schema", SourceConfig.model_fields["bookkeeping_schema"].default)
    return str(schema) if schema else None


def check_platform(destination_type: str) -> None:
    """Refuse destinations whose API cannot list a segment's members, saying why."""
    connector = registry.get(destination_type)
    if not connector.capabilities.can_read_members:
        raise InvalidInput(
            f"{connector.title} cannot be used for remote segments: {unsupported_reason(connector)}"
        )


def unsupported_reason(connector: type[Connector]) -> str:
    """Why a destination cannot be read as a remote segment (its own words when it gives them)."""
    return connector.capabilities.read_members_note or "its API cannot list the members of a segment"


def default_remote_kind(destination_type: str) -> str:
    """The kind of remote object read when the segment does not say (the destination's default)."""
    defaults = registry.get(destination_type).activation_defaults.model_validate({})
    return str(defaults.target_kind)


async def read_remote_members(
    destination: Destination,
    box: SecretBox,
    remote: RemoteSource,
    *,
    retry_base_seconds: float = 0.5,
    database: Database | None = None,
) -> tuple[int, set[str]]:
    """Every member id of the remote object (all pages): ids read, and the distinct normalised ids
    (with ``database``, credentials the vendor rotates meanwhile are saved)."""
    async with connect(destination, box, database=database) as connector:
        connector.http.backoff_base = retry_base_seconds
        target = await connector.ensure_target(
            TargetSpec(
                kind=remote.remote_kind or default_remote_kind(destination.type),
                id=remote.remote_id,
                create_if_missing=False,
                identifier_kind=IdentifierKind(remote.remote_identifier),
            )
        )
        read = 0
        ids: set[str] = set()
        async for value in connector.read_members(target):
            read += 1
            member = normalise_member(str(value), remote.remote_identifier)
            if member is not None:
                ids.add(member)
    return read, ids


def _match(catalog: Any, model_name: str, remote: RemoteSource, uri: str) -> dict[str, Any]:
    """Counts of one membership against the model, computed in the warehouse."""
    members = members_table(uri, catalog.warehouse)
    model = catalog.table(model_name, fields=[remote.identifier_field])
    ids = model[remote.identifier_field].cast("string")
    if remote.case_insensitive:
        ids = ids.strip().lower()
    known = model.select(known_id=ids)
    known = known.filter(known.known_id.notnull())  # NOT IN over a null would hide every id
    found = members[MEMBER_COLUMN].isin(known.known_id)
    totals = members.aggregate(distinct=members.count(), matched=found.cast("int64").sum())
    row = catalog.to_pyarrow(totals).to_pylist()[0]
    unmatched = members.filter(~found).order_by(MEMBER_COLUMN).limit(UNMATCHED_SAMPLE)[[MEMBER_COLUMN]]
    sample = [str(r[MEMBER_COLUMN]) for r in catalog.to_pyarrow(unmatched).to_pylist()]
    in_segment = model.filter(ids.isin(members[MEMBER_COLUMN]))
    rows = catalog.to_pyarrow(in_segment.aggregate(rows=in_segment.count())).to_pylist()[0]["rows"]
    distinct = int(row["distinct"] or 0)
    matched = int(row["matched"] or 0)
    return {
        "distinct": distinct,
        "matched": matched,
        "unmatched": distinct - matched,
        "sample": sample,
        "rows": int(rows or 0),
    }


def _commit(
    database: Database,
    refresh_id: str,
    segment_id: str,
    uri: str,
    storage: str,
    read: int,
    counts: dict[str, Any],
) -> str | None:
    """Flip the segment to the new membership and finish the refresh; returns the old pointer."""
    from sluice.jobs.remote_refreshes import trigger_after_remote_refresh

    with database.session() as session:
        segment = session.get(Segment, segment_id)
        refresh = session.get(RemoteRefresh, refresh_id)
        if segment is None or refresh is None:
            raise InvalidInput("the segment was deleted during its refresh")
        previous = segment.members_uri
        now = utcnow()
        segment.members_uri = uri
        segment.members_refreshed_at = now
        refresh.state = RefreshState.SUCCEEDED
        refresh.finished_at = now
        refresh.ids_read = read
        refresh.ids_matched = counts["matched"]
        refresh.ids_unmatched = counts["unmatched"]
        refresh.unmatched_sample = counts["sample"]
        refresh.rows = counts["rows"]
        refresh.storage = storage
        refresh.members_uri = uri
        session.flush()
        trigger_after_remote_refresh(session, segment)
    return previous


def _fail(database: Database, refresh_id: str, message: str) -> None:
    with database.session() as session:
        refresh = session.get(RemoteRefresh, refresh_id)
        if refresh is None:
            return
        refresh.state = RefreshState.FAILED
        refresh.finished_at = utcnow()
        refresh.error = message
        segment = session.get(Segment, refresh.segment_id)
        if segment is None:
            return
        kept = "the previous membership is kept" if segment.members_uri else "the segment has no members yet"
        queue_alert(
            session,
            AlertEvent(
                kind=AlertKind.WARNING,
                workspace_id=segment.workspace_id,
                activation_id=segment.id,
                activation_name=segment.name,
                message=f"{message} ({kept})",
                headline="Remote segment refresh failed",
            ),
        )
    log.warning("remote refresh failed", refresh_id=refresh_id, error=message)


def fail_lost_refreshes(session: Session, *, stale_after: timedelta, now: datetime | None = None) -> int:
    """Fail refreshes whose worker died (running for longer than ``stale_after``)."""
    now = now or utcnow()
    result = session.execute(
        update(RemoteRefresh)
        .where(RemoteRefresh.state == RefreshState.RUNNING, RemoteRefresh.started_at < now - stale_after)
        .values(
            state=RefreshState.FAILED,
            finished_at=now,
            error="the worker running this refresh stopped; the previous membership is kept",
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))
