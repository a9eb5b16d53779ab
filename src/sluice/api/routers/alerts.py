"""Alert channels of the workspace: webhook (JSON), Slack incoming webhook, e-mail; send a test alert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.errors import Conflict, InvalidInput
from sluice.core.settings import Settings
from sluice.jobs.alerts import AlertDeliveryError, AlertEvent, AlertKind, ChannelKind, send_to_channel
from sluice.schemas.alerts import AlertChannelCreate, AlertChannelOut, AlertChannelUpdate, AlertTestOut
from sluice.store.scoped import get_scoped
from sluice.store.tables.jobs import AlertChannel

router = APIRouter(prefix="/alert-channels", tags=["alerts"])
Reader = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_WRITE))]


@router.get("", response_model=Page[AlertChannelOut])
def list_channels(
    session: DbSession, principal: Reader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[AlertChannelOut]:
    statement = select(AlertChannel).where(AlertChannel.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, AlertChannel.id, params)
    return Page(items=[_out(row) for row in rows], next_cursor=cursor)


@router.post("", response_model=AlertChannelOut, status_code=status.HTTP_201_CREATED)
def create_channel(
    body: AlertChannelCreate, request: Request, session: DbSession, principal: Writer
) -> AlertChannelOut:
    _check_complete(body.kind, url_set=body.url is not None, recipients=body.recipients)
    channel = AlertChannel(
        workspace_id=principal.workspace_id,
        name=body.name,
        kind=body.kind,
        config={"recipients": body.recipients} if body.kind == ChannelKind.EMAIL else {},
        events=[str(event) for event in body.events],
        enabled=body.enabled,
    )
    if body.url is not None:
        channel.write_secrets(get_database(request).secrets, {"url": body.url.get_secret_value()})
    session.add(channel)
    _flush(session, body.name)
    return _out(channel)


@router.get("/{channel_id}", response_model=AlertChannelOut)
def get_channel(channel_id: str, session: DbSession, principal: Reader) -> AlertChannelOut:
    return _out(_channel(session, principal, channel_id))


@router.patch("/{channel_id}", response_model=AlertChannelOut)
def update_channel(
    channel_id: str, body: AlertChannelUpdate, request: Request, session: DbSession, principal: Writer
) -> AlertChannelOut:
    channel = _channel(session, principal, channel_id)
    if body.name is not None:
        channel.name = body.name
    if body.events is not None:
        channel.events = [str(event) for event in body.events]
    if body.enabled is not None:
        channel.enabled = body.enabled
    if body.recipients is not None:
        if channel.kind != ChannelKind.EMAIL:
            raise InvalidInput(f"a {channel.kind} channel has no recipients; it sends to its URL")
        channel.config = {"recipients": body.recipients}
    if body.url is not None:
        if channel.kind == ChannelKind.EMAIL:
            raise InvalidInput("an e-mail channel has no URL; it sends to its recipients")
        channel.write_secrets(get_database(request).secrets, {"url": body.url.get_secret_value()})
    _check_complete(
        channel.kind, url_set="url" in channel.secret_names, recipients=channel.config.get("recipients") or []
    )
    _flush(session, channel.name)
    return _out(channel)


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_channel(channel_id: str, session: DbSession, principal: Writer) -> None:
    session.delete(_channel(session, principal, channel_id))


@router.post("/{channel_id}/test", response_model=AlertTestOut)
def test_channel(channel_id: str, request: Request, session: DbSession, principal: Writer) -> AlertTestOut:
    """Send a sample alert through the channel now and say whether it arrived."""
    channel = _channel(session, principal, channel_id)
    database = get_database(request)
    settings: Settings = request.app.state.settings
    event = AlertEvent(
        kind=AlertKind.WARNING,
        workspace_id=principal.workspace_id,
        activation_id="test",
        activation_name="test alert",
        message=f"This is a test alert from Sluice, sent by {principal.display_name}.",
    )
    try:
        send_to_channel(
            settings, channel.kind, dict(channel.config), channel.read_secrets(database.secrets), event
        )
    except AlertDeliveryError as exc:
        return AlertTestOut(delivered=False, error=str(exc))
    return AlertTestOut(delivered=True)


def _check_complete(kind: str, *, url_set: bool, recipients: list[str]) -> None:
    if kind == ChannelKind.EMAIL and not recipients:
        raise InvalidInput("an e-mail channel needs at least one recipient")
    if kind != ChannelKind.EMAIL and not url_set:
        raise InvalidInput(f"a {kind} channel needs a URL")


def _flush(session: DbSession, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"an alert channel named '{name}' already exists in this workspace") from None


def _channel(session: DbSession, principal: Principal, channel_id: str) -> AlertChannel:
    return get_scoped(session, AlertChannel, channel_id, principal.workspace_id, "alert channel")


def _out(channel: AlertChannel) -> AlertChannelOut:
    return AlertChannelOut(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        recipients=list((channel.config or {}).get("recipients") or []),
        events=list(channel.events or []),
        enabled=channel.enabled,
        url_set="url" in channel.secret_names,
        last_error=channel.last_error,
        last_sent_at=channel.last_sent_at,
        created_at=channel.created_at,
    )
