"""Alerts: what happened to an activation, sent to each workspace channel that wants it.

Channels (``alert_channels``) are a webhook receiving JSON, a Slack incoming webhook, or e-mail
over the installation's SMTP server (``SLUICE_SMTP_*``). Events are ``failure``, ``pause``,
``resume`` and ``warning``. Sending happens after the transaction that decided the event has
committed; a channel that fails keeps the error in ``last_error`` (shown in the UI) and never
stops the others or the run.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sluice.core.logging import get_logger
from sluice.core.settings import Settings
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.tables.jobs import AlertChannel, PendingAlert

log = get_logger(__name__)

HTTP_TIMEOUT_SECONDS = 10.0


class AlertKind(StrEnum):
    """What an alert is about."""

    FAILURE = "failure"
    PAUSE = "pause"
    RESUME = "resume"
    WARNING = "warning"


class ChannelKind(StrEnum):
    """How an alert is delivered."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    EMAIL = "email"


_TITLES = {
    AlertKind.FAILURE: "Sync failed",
    AlertKind.PAUSE: "Activation paused",
    AlertKind.RESUME: "Activation resumed",
    AlertKind.WARNING: "Sync finished with warnings",
}


@dataclass(frozen=True)
class AlertEvent:
    """One thing to tell a workspace about an activation."""

    kind: AlertKind
    workspace_id: str
    activation_id: str
    activation_name: str
    message: str
    run_id: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    occurred_at: datetime = field(default_factory=utcnow)
    #: what the alert is about when not a sync (e.g. "Remote segment refresh failed")
    headline: str | None = None

    @property
    def title(self) -> str:
        return f"{self.headline or _TITLES[self.kind]}: {self.activation_name}"

    def as_json(self) -> dict[str, Any]:
        """The webhook body (stable field names; documented in docs/jobs.md)."""
        return {
            "event": str(self.kind),
            "title": self.title,
            "message": self.message,
            "workspace_id": self.workspace_id,
            "activation": {"id": self.activation_id, "name": self.activation_name},
            "run_id": self.run_id,
            "warnings": [{"kind": w.get("kind"), "message": w.get("message")} for w in self.warnings],
            "occurred_at": self.occurred_at.isoformat(),
        }

    def to_record(self) -> dict[str, Any]:
        """JSON form kept in ``pending_alerts``."""
        return {
            "kind": str(self.kind),
            "workspace_id": self.workspace_id,
            "activation_id": self.activation_id,
            "activation_name": self.activation_name,
            "message": self.message,
            "run_id": self.run_id,
            "warnings": self.warnings,
            "occurred_at": self.occurred_at.isoformat(),
            "headline": self.headline,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AlertEvent:
        return cls(
            kind=AlertKind(record["kind"]),
            workspace_id=record["workspace_id"],
            activation_id=record["activation_id"],
            activation_name=record["activation_name"],
            message=record["message"],
            run_id=record.get("run_id"),
            warnings=list(record.get("warnings") or []),
            occurred_at=datetime.fromisoformat(record["occurred_at"]),
            headline=record.get("headline"),
        )

    def as_text(self) -> str:
        lines = [self.title, "", self.message]
        lines += [f"- {w.get('message')}" for w in self.warnings]
        if self.run_id:
            lines += ["", f"Run: {self.run_id}"]
        return "\n".join(lines)

    def as_slack(self) -> dict[str, Any]:
        """Slack incoming-webhook body: ``text`` fallback plus blocks."""
        body = self.message + "".join(f"\n• {w.get('message')}" for w in self.warnings)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
        ]
        if self.run_id:
            blocks.append(
                {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Run `{self.run_id}`"}]}
            )
        return {"text": f"{self.title} — {self.message}", "blocks": blocks}


class AlertDeliveryError(Exception):
    """A channel could not deliver an alert (the message is shown on the channel)."""


def send_to_channel(
    settings: Settings, kind: str, config: dict[str, Any], secrets: dict[str, Any], event: AlertEvent
) -> None:
    """Deliver one event through one channel; raise :class:`AlertDeliveryError` on failure."""
    if kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK):
        url = secrets.get("url")
        if not url:
            raise AlertDeliveryError("the channel has no URL")
        body = event.as_slack() if kind == ChannelKind.SLACK else event.as_json()
        try:
            response = httpx.post(url, json=body, timeout=HTTP_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            raise AlertDeliveryError(f"could not reach the {kind} URL: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise AlertDeliveryError(f"the {kind} URL answered HTTP {response.status_code}")
    elif kind == ChannelKind.EMAIL:
        _send_email(settings, list(config.get("recipients") or []), event)
    else:
        raise AlertDeliveryError(f"unknown channel kind '{kind}'")


def _send_email(settings: Settings, recipients: list[str], event: AlertEvent) -> None:
    if not settings.smtp_host:
        raise AlertDeliveryError("e-mail alerts need an SMTP server: set SLUICE_SMTP_HOST")
    if not recipients:
        raise AlertDeliveryError("the channel has no recipients")
    message = EmailMessage()
    message["Subject"] = f"[Sluice] {event.title}"
    message["From"] = settings.smtp_sender
    message["To"] = ", ".join(recipients)
    message.set_content(event.as_text())
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=HTTP_TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise AlertDeliveryError(f"the SMTP server did not accept the e-mail: {type(exc).__name__}") from None


def queue_alert(session: Session, event: AlertEvent) -> None:
    """Keep an alert to send after the caller's transaction commits (see :func:`send_pending_alerts`)."""
    session.add(PendingAlert(event=event.to_record()))


def send_pending_alerts(database: Database, settings: Settings) -> int:
    """Send the queued alerts; each is claimed by deleting its row, so only one process sends it."""
    with database.session() as session:
        pending = session.execute(select(PendingAlert.id, PendingAlert.event).order_by(PendingAlert.id)).all()
    events: list[AlertEvent] = []
    for alert_id, record in pending:
        with database.session() as session:
            claimed = session.execute(delete(PendingAlert).where(PendingAlert.id == alert_id))
        if getattr(claimed, "rowcount", 0):
            events.append(AlertEvent.from_record(record))
    return send_alerts(database, settings, events) if events else 0


def send_alerts(database: Database, settings: Settings, events: Sequence[AlertEvent]) -> int:
    """Send each event to every enabled channel of its workspace that subscribes to it.

    Returns how many deliveries succeeded. Errors are recorded on the channel and logged.
    """
    delivered = 0
    for event in events:
        with database.session() as session:
            channels = session.scalars(
                select(AlertChannel).where(
                    AlertChannel.workspace_id == event.workspace_id, AlertChannel.enabled.is_(True)
                )
            ).all()
            targets = [
                (c.id, c.kind, dict(c.config), c.read_secrets(database.secrets))
                for c in channels
                if str(event.kind) in (c.events or [])
            ]
        for channel_id, kind, config, secrets in targets:
            error: str | None = None
            try:
                send_to_channel(settings, kind, config, secrets, event)
                delivered += 1
            except AlertDeliveryError as exc:
                error = str(exc)
                log.warning("alert not delivered", channel_id=channel_id, error=error, alert=str(event.kind))
            values: dict[str, Any] = {"last_error": error}
            if error is None:
                values["last_sent_at"] = utcnow()
            with database.session() as session:  # bookkeeping, not an audited change
                session.execute(update(AlertChannel).where(AlertChannel.id == channel_id).values(**values))
    return delivered
