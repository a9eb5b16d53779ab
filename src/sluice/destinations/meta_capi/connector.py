"""Meta Conversions API (Graph API): send rows of an events model as server events to a pixel.

Each event op becomes one entry of ``POST /{pixel_id}/events`` ``{"data": [...]}`` (at most 1,000
per request): ``event_name`` (the target), ``event_time`` (Unix seconds), ``event_id`` (the row's
key, so Meta deduplicates a resend by event name + id), ``action_source``, ``user_data`` (the
identifier and mapped match keys normalised and SHA-256 hashed with Meta's rules; client IP, user
agent, ``fbc`` and ``fbp`` are sent as they are), ``custom_data`` (value, currency, every other
mapped field) and the data-processing options (Limited Data Use) when mapped. Meta refuses the whole
request when one ``event_time`` is more than 7 days old (62 for ``physical_store``), so stale rows
are rejected before sending. Errors are Graph errors (:mod:`sluice.destinations.meta.graph`).
See README.md for the facts and their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.events import BadEventTime, event_time, stale_reason
from sluice.destinations.hashing import META, InvalidIdentifier, PiiField, hash_value
from sluice.destinations.http import RateHeaders
from sluice.destinations.meta.graph import (
    describe,
    graph_auth_headers,
    graph_call,
    graph_error,
    graph_rate_headers,
)
from sluice.destinations.meta_capi.config import MetaCapiActivationDefaults, MetaCapiConfig
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

EVENT = "event"
BATCH_LIMIT = 1000
DAY = 86_400.0
WINDOW = 7 * DAY
PHYSICAL_STORE_WINDOW = 62 * DAY
#: the mapped field holding when the event happened (now when absent)
TIME_FIELD = "event_time"
#: mapped field → (``user_data`` key, what it is), hashed with Meta's rules
HASHED_FIELDS = {
    "email": ("em", PiiField.EMAIL),
    "phone": ("ph", PiiField.PHONE),
    "first_name": ("fn", PiiField.FIRST_NAME),
    "last_name": ("ln", PiiField.LAST_NAME),
    "city": ("ct", PiiField.CITY),
    "state": ("st", PiiField.STATE),
    "postal_code": ("zp", PiiField.ZIP),
    "zip": ("zp", PiiField.ZIP),
    "country": ("country", PiiField.COUNTRY),
    "external_id": ("external_id", PiiField.EXTERNAL_ID),
}
#: ``user_data`` keys Meta takes as they are (never hashed)
PLAIN_USER_FIELDS = frozenset({"client_ip_address", "client_user_agent", "fbc", "fbp"})
#: server-event keys a row may set beside the ones Sluice fills
EVENT_FIELDS = frozenset(
    {
        "action_source",
        "event_source_url",
        "opt_out",
        "data_processing_options",
        "data_processing_options_country",
        "data_processing_options_state",
    }
)
#: the identifier kind → the ``user_data`` key and field it fills
IDENTIFIER_FIELDS = {
    IdentifierKind.EMAIL: ("em", PiiField.EMAIL),
    IdentifierKind.PHONE: ("ph", PiiField.PHONE),
    IdentifierKind.EXTERNAL_ID: ("external_id", PiiField.EXTERNAL_ID),
    IdentifierKind.HASHED: ("em", PiiField.EMAIL),  # an already-hashed identifier: a hashed email
}
STANDARD_EVENTS = (
    "Purchase",
    "Lead",
    "CompleteRegistration",
    "AddToCart",
    "AddPaymentInfo",
    "AddToWishlist",
    "InitiateCheckout",
    "Subscribe",
    "StartTrial",
    "Contact",
    "Schedule",
    "SubmitApplication",
    "ViewContent",
    "Search",
    "Donate",
    "FindLocation",
    "CustomizeProduct",
)


class MetaCapiConnector(Connector):
    """Server events of one Meta pixel (dataset), people matched on hashed customer information."""

    type_name = "meta_capi"
    title = "Meta Conversions API"
    description = (
        "Send conversions and other events from an events model to a Meta pixel (dataset), "
        "customer information SHA-256 hashed, deduplicated by event id."
    )
    docs_url = "https://developers.facebook.com/docs/marketing-api/conversions-api/using-the-api"
    config_model = MetaCapiConfig
    activation_defaults = MetaCapiActivationDefaults
    standard_fields = (
        StandardField("event_time", "created_at", "When the event happened (Unix seconds are sent)"),
        StandardField("value", "revenue", "custom_data.value"),
        StandardField("currency", "currency", "custom_data.currency (ISO 4217)"),
        StandardField("phone", "phone", "user_data.ph (hashed)"),
        StandardField("first_name", "first_name", "user_data.fn (hashed)"),
        StandardField("last_name", "last_name", "user_data.ln (hashed)"),
        StandardField("city", "city", "user_data.ct (hashed)"),
        StandardField("postal_code", "postal_code", "user_data.zp (hashed)"),
        StandardField("country", "country", "user_data.country (hashed)"),
        StandardField("external_id", "external_id", "user_data.external_id (hashed)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.EVENTS}),
        target_kinds=frozenset({EVENT}),
        identifiers=frozenset(IDENTIFIER_FIELDS),
        batch_size=BATCH_LIMIT,
        concurrency=4,
        rate_limit=None,
        can_create_targets=False,
        can_read_members=False,
        read_members_note="Meta never returns the people behind received events.",
        full_refresh="not applicable: events are sent once each",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Meta accepts every event and matches its hashed customer information "
        "to people later; it never reports who was not found.",
        deduplicates_events=True,
        event_max_age=WINDOW,
    )
    config: MetaCapiConfig

    @classmethod
    def base_url(cls, config: MetaCapiConfig) -> str:
        return config.base_url or f"https://graph.facebook.com/{config.api_version}"

    @classmethod
    def auth_headers(cls, config: MetaCapiConfig) -> dict[str, str]:
        return graph_auth_headers(config.access_token.get_secret_value())

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        return graph_rate_headers(response, now)

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        pixel = self.config.pixel_id
        response = await graph_call(self.http, "GET", f"/{pixel}", params={"fields": "id,name"})
        if not response.is_success:
            raise ConfigError(f"Meta pixel {pixel}: {describe(graph_error(response), response.status_code)}")
        return f"connected to pixel {response.json().get('name', pixel)!r}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        """Meta's standard events (any custom event name may be typed instead)."""
        return TargetPage([Target(EVENT, name, name) for name in STANDARD_EVENTS])

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind != EVENT:
            raise ConfigError(f"Meta Conversions API has no target kind {spec.kind!r}")
        name = (spec.id or spec.name).strip()
        if not name or len(name) > 50:
            raise ConfigError("name the Meta event (a standard event such as Purchase, or a custom name)")
        return Target(EVENT, name, name, parent_id=self.config.pixel_id)

    # -- events ------------------------------------------------------------------------------

    def _hash(self, field: PiiField, value: Any) -> str:
        return hash_value(field, str(value), META, default_region=self.config.default_country)

    def _window(self, op: Op) -> float:
        source = op.fields.get("action_source") or self.config.action_source
        return PHYSICAL_STORE_WINDOW if source == "physical_store" else WINDOW

    def _time(self, op: Op) -> datetime:
        value = op.fields.get(TIME_FIELD)
        return (
            event_time(value) if value not in (None, "") else datetime.fromtimestamp(self.http.clock(), UTC)
        )

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse identifiers Meta's rules cannot normalise, unreadable times and events older than
        Meta's window (one stale event would fail the whole request)."""
        if op.kind is not OpKind.EVENT:
            return f"Meta Conversions API sends events only, not {op.kind}"
        if kind not in IDENTIFIER_FIELDS:
            return super().invalid_reason(op, kind)
        if not op.identifier or not op.identifier.strip():
            return "identifier is empty"
        try:
            self._hash(IDENTIFIER_FIELDS[kind][1], op.identifier)
            moment = self._time(op)
        except (InvalidIdentifier, BadEventTime) as exc:
            return str(exc)
        return stale_reason(moment, self._window(op), self.http.clock(), "Meta")

    def _event(self, target: Target, op: Op) -> tuple[dict[str, Any], list[str]]:
        """The server event of ``op``, and the optional match keys left out (with why)."""
        key, field = IDENTIFIER_FIELDS[target.identifier_kind]
        user: dict[str, Any] = {key: [self._hash(field, op.identifier)]}
        event: dict[str, Any] = {
            "event_name": target.id,
            "event_time": int(self._time(op).timestamp()),
            "event_id": op.key,
            "action_source": self.config.action_source,
        }
        custom: dict[str, Any] = {}
        left_out: list[str] = []
        for name, value in op.fields.items():
            if value is None or name == TIME_FIELD:
                continue
            if name in HASHED_FIELDS:
                user_key, pii = HASHED_FIELDS[name]
                try:
                    digest = self._hash(pii, value)
                except InvalidIdentifier as exc:
                    left_out.append(f"{name} ({exc})")
                    continue
                if digest not in user.get(user_key, []):
                    user.setdefault(user_key, []).append(digest)
            elif name in PLAIN_USER_FIELDS:
                user[name] = str(value)
            elif name in EVENT_FIELDS:
                event[name] = value
            else:
                custom[name] = _jsonable(value)
        event["user_data"] = user
        if custom:
            event["custom_data"] = custom
        return event, left_out

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        built = [self._event(target, op) for op in ops]
        body: dict[str, Any] = {"data": [event for event, _ in built]}
        if self.config.test_event_code:
            body["test_event_code"] = self.config.test_event_code
        response = await graph_call(self.http, "POST", f"/{self.config.pixel_id}/events", json=body)
        if not response.is_success:
            error = graph_error(response)
            if error.get("code") == 100 and error.get("error_subcode") == 33:
                raise ConfigError(
                    f"Meta pixel {self.config.pixel_id} is not available: {describe(error, 400)}"
                )
            raise RowRejected(describe(error, response.status_code))
        received = response.json().get("events_received")
        short = (
            f"Meta acknowledged {received} of {len(ops)} events in this request"
            if isinstance(received, int) and received < len(ops)
            else ""
        )
        return [
            Outcome.of(op, OutcomeStatus.DELIVERED, "; ".join(filter(None, [short, _left_out(notes)])))
            for op, (_, notes) in zip(ops, built, strict=True)
        ]


def _left_out(notes: list[str]) -> str:
    return f"match keys left out: {', '.join(notes)}" if notes else ""


def _jsonable(value: Any) -> Any:
    """``custom_data`` values as JSON (times as ISO-8601, decimals as numbers)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool | list | dict):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
