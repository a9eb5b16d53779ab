"""Batch (batch.com): profiles and events on the Customer Engagement Platform, install custom data on
the Mobile Engagement Platform.

- Profiles (upsert) and events go through ``POST /2.x/profiles/update``: a JSON array of at most
  200 operations ``{"identifiers": {"custom_id"}, "attributes": {…}, "events": [{"name", "time",
  "attributes"}]}``; Batch creates a profile when no profile has the custom id. It answers 202
  ``{"code": "SUCCESS"}`` or ``{"code": "SUCCESS_WITH_PARTIAL_ERRORS", "errors": [{"bulk_index",
  "reason", …}]}``: the indexed operations are rejected with the reason, the others delivered.
- Install data (upsert) goes through the Custom Data API ``POST /1.0/{app API key}/data/users``
  (``X-Authorization``), ``[{"id": <custom id>, "update": {"overwrite": false, "values":
  {"u.<name>": value}}}]``, up to 10,000 users, refused as a whole on a bad value (delivery splits).
- Attribute names are ``[a-z0-9_]`` (≤ 30 characters): a mapping naming another stops the run
  before anything is sent; dates are sent as ``date(<name>)`` with an ISO-8601 value; a null value deletes the
  attribute (removal behaviour *clear*). Native profile attributes keep their ``$`` names
  (``$email_address``, ``$email_marketing``, ``$phone_number``, ``$sms_marketing``, ``$language``,
  ``$region``, ``$timezone``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from sluice.destinations.batch.config import BatchActivationDefaults, BatchConfig
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.events import EVENT_TIME_FIELD, BadEventTime, event_time
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    RateLimit,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

PROFILES = "profiles"
INSTALLS = "installs"
EVENT = "event"
OPERATIONS_LIMIT = 200
BURST_UPDATES = 1000  # /profiles/update: 300 updates per second, peaks up to 1,000
PACE_MARGIN = 0.9  # stay 10 % under Batch's bucket: clocks and counting never line up exactly
NATIVE_ATTRIBUTES = frozenset(
    {
        "$email_address",
        "$email_marketing",
        "$phone_number",
        "$sms_marketing",
        "$language",
        "$region",
        "$timezone",
    }
)
EVENT_RESERVED = frozenset({"$label", "$tags"})
NAME = re.compile(r"[a-z0-9_]{1,30}")
SUBSCRIPTIONS = frozenset({"$email_marketing", "$sms_marketing"})
ALLOWED = {
    PROFILES: (OpKind.UPSERT, OpKind.CLEAR),
    INSTALLS: (OpKind.UPSERT, OpKind.CLEAR),
    EVENT: (OpKind.EVENT,),
}


def update_pace(updates_per_second: float) -> RateLimit:
    """Calls of up to 200 updates paced so that bursts stay under 1,000 updates and the sustained
    rate under ``updates_per_second`` (Batch counts one update per custom id in a call)."""
    calls_in_burst = PACE_MARGIN * BURST_UPDATES / OPERATIONS_LIMIT
    return RateLimit(calls_in_burst, calls_in_burst * OPERATIONS_LIMIT / (PACE_MARGIN * updates_per_second))


def batch_message(response: httpx.Response) -> str:
    """Batch's error ``code`` and ``message`` (or the HTTP status when the body says nothing)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    parts = [str(body[k]) for k in ("code", "message") if body.get(k)]
    return ": ".join(parts) or f"HTTP {response.status_code}"


def event_name(name: str) -> str:
    """A Batch event name: lower case, ``[a-z0-9_]``, at most 30 characters."""
    return re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")[:30]


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple | set | frozenset):
        return [str(v) for v in value]
    return value


def _subscription(name: str, value: Any) -> Any:
    """A boolean consent column mapped to ``$email_marketing`` / ``$sms_marketing`` as Batch's states."""
    if name in SUBSCRIPTIONS and isinstance(value, bool):
        return "subscribed" if value else "unsubscribed"
    return value


def attribute_key(name: str, value: Any, prefix: str = "") -> str:
    """The key Batch expects: dates are typed with ``date(...)``, native attributes keep ``$``."""
    if name.startswith("$"):
        return name
    return f"date({prefix}{name})" if isinstance(value, date) else f"{prefix}{name}"


def bad_names(fields: dict[str, Any], reserved: frozenset[str]) -> list[str]:
    """Mapped names Batch would refuse (``[a-z0-9_]``, ≤ 30 characters, or one of ``reserved``)."""
    return [name for name in fields if name not in reserved and not NAME.fullmatch(name)]


class BatchConnector(Connector):
    """Batch profiles, events and installs, addressed by custom id."""

    type_name = "batch"
    title = "Batch"
    description = (
        "Synchronize profiles (attributes, email and SMS subscriptions) and send events on Batch's "
        "Customer Engagement Platform; synchronize install custom data on its Mobile Engagement Platform."
    )
    docs_url = "https://doc.batch.com/developer/api/cep/profiles/update"
    config_model = BatchConfig
    activation_defaults = BatchActivationDefaults
    standard_fields = (
        StandardField("$email_address", "email", "Email address of the profile"),
        StandardField(
            "$email_marketing", "email_consent", "Email marketing subscription (subscribed | unsubscribed)"
        ),
        StandardField("$phone_number", "phone", "Phone number (E.164)"),
        StandardField(
            "$sms_marketing", "sms_consent", "SMS marketing subscription (subscribed | unsubscribed)"
        ),
        StandardField("$language", "language", "Language (ISO 639-1)"),
        StandardField("$region", "country", "Region (ISO 3166-1 alpha-2)"),
        StandardField("first_name", "first_name", "First name (custom attribute)"),
        StandardField("last_name", "last_name", "Last name (custom attribute)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.UPSERT, Service.EVENTS}),
        target_kinds=frozenset({PROFILES, INSTALLS, EVENT}),
        identifiers=frozenset({IdentifierKind.EXTERNAL_ID}),
        batch_size=OPERATIONS_LIMIT,
        concurrency=4,
        rate_limit=update_pace(300),
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Batch has no API listing the profiles of a segment.",
        full_refresh="not available: Batch profiles cannot be listed, only the diff is applied",
        event_dedupe_note="Batch events carry no id it deduplicates on: Sluice sends each event once, "
        "but a retry after a lost answer can count it twice.",
    )
    config: BatchConfig

    @classmethod
    def base_url(cls, config: BatchConfig) -> str:
        return config.base_url.rstrip("/")

    @classmethod
    def auth_headers(cls, config: BatchConfig) -> dict[str, str]:
        key = config.rest_api_key.get_secret_value()
        headers = {"Authorization": f"Bearer {key}", "X-Authorization": key}
        if config.project_key.strip():
            headers["X-Batch-Project"] = config.project_key.strip()
        return headers

    @classmethod
    def rate_limit_for(cls, config: BatchConfig) -> RateLimit:
        return update_pace(config.updates_per_second)

    @property
    def _profiles_path(self) -> str:
        if not self.config.project_key.strip():
            raise ConfigError("profiles and events need the Batch project key (X-Batch-Project)")
        return f"/{self.config.api_version}/profiles/update"

    @property
    def _installs_path(self) -> str:
        if not self.config.app_api_key.strip():
            raise ConfigError("install data needs the API key of a Batch app")
        return f"/1.0/{self.config.app_api_key.strip()}/data/users"

    async def _post(self, path: str, body: list[dict[str, Any]]) -> httpx.Response:
        response = await self.http.request("POST", path, json=body)
        if response.status_code in (401, 403):
            raise ConfigError(
                f"Batch refused the REST API key or the project/app key: {batch_message(response)}"
            )
        if response.status_code == 404:
            raise ConfigError(f"Batch does not know this project or app: {batch_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        """An empty update (no operation) proves the key and the project or app key."""
        if self.config.project_key.strip():
            response = await self._post(self._profiles_path, [])
            where = f"project {self.config.project_key.strip()}"
        else:
            response = await self._post(self._installs_path, [])
            where = "the app's custom data"
        if response.status_code >= 400:
            raise ConfigError(f"Batch answered {batch_message(response)}")
        return f"connected to Batch ({where})"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == INSTALLS:
            return TargetPage([Target(INSTALLS, INSTALLS, "Installs (custom data)")])
        if kind == EVENT:
            return TargetPage([])  # Batch lists no event names by API: the activation names the event
        return TargetPage([Target(PROFILES, PROFILES, "Profiles")])

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == PROFILES:
            _ = self._profiles_path
            return Target(PROFILES, PROFILES, "Profiles")
        if spec.kind == INSTALLS:
            _ = self._installs_path
            return Target(INSTALLS, INSTALLS, "Installs (custom data)")
        if spec.kind == EVENT:
            _ = self._profiles_path
            name = event_name(spec.id or spec.name)
            if not name:
                raise ConfigError("name the Batch event to send (letters, digits, underscores)")
            return Target(EVENT, name, name)
        raise ConfigError(f"Batch has no target kind {spec.kind!r}")

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind not in ALLOWED.get(target.kind, ()):
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, f"Batch {target.kind} targets do not support {op.kind}"
                )
                for op in ops
            ]
        reserved = {EVENT: EVENT_RESERVED, PROFILES: NATIVE_ATTRIBUTES}.get(target.kind, frozenset())
        mapped = {name: None for op in ops for name in op.fields if name != EVENT_TIME_FIELD}
        names = bad_names(mapped, reserved)
        if names:  # the mapping names them: every row would fail, so the run stops
            raise ConfigError(
                "Batch attribute names are lower-case letters, digits and underscores (at most 30); "
                f"rename the mapped field {', '.join(map(repr, sorted(names)))}"
            )
        refused: dict[int, str] = {}
        for index, op in enumerate(ops):
            if op.kind is OpKind.EVENT and op.fields.get(EVENT_TIME_FIELD) is not None:
                try:
                    event_time(op.fields[EVENT_TIME_FIELD])
                except BadEventTime as exc:
                    refused[index] = f"not sent: {exc}"
        sendable = [op for index, op in enumerate(ops) if index not in refused]
        sent = await (
            self._installs(sendable) if target.kind == INSTALLS else self._profiles(target, sendable)
        )
        outcomes = iter(sent)
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, refused[index]) if index in refused else next(outcomes)
            for index, op in enumerate(ops)
        ]

    def _operation(self, target: Target, op: Op) -> dict[str, Any]:
        operation: dict[str, Any] = {"identifiers": {"custom_id": op.identifier}}
        if op.kind is OpKind.EVENT:
            when = op.fields.get(EVENT_TIME_FIELD)
            moment = event_time(when) if when is not None else datetime.now(UTC)
            attributes = {
                attribute_key(k, v): _value(v)
                for k, v in op.fields.items()
                if k != EVENT_TIME_FIELD and v is not None
            }
            operation["events"] = [{"name": target.id, "time": _value(moment), "attributes": attributes}]
            return operation
        operation["attributes"] = {
            attribute_key(k, v): None if op.kind is OpKind.CLEAR else _subscription(k, _value(v))
            for k, v in op.fields.items()
        }
        return operation

    async def _profiles(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if not ops:
            return []
        response = await self._post(self._profiles_path, [self._operation(target, op) for op in ops])
        if response.status_code >= 400:
            raise RowRejected(batch_message(response))
        body = response.json() if response.content else {}
        errors: dict[int, str] = {}
        for error in (body.get("errors") or []) if isinstance(body, dict) else []:
            if isinstance(error, dict) and isinstance(error.get("bulk_index"), int):
                where = f" ({error['attribute']})" if error.get("attribute") else ""
                errors.setdefault(error["bulk_index"], f"{error.get('reason', 'refused by Batch')}{where}")
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, errors[index])
            if index in errors
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for index, op in enumerate(ops)
        ]

    async def _installs(self, ops: Sequence[Op]) -> list[Outcome]:
        """Custom data of the ops that carry fields (Batch requires at least one value per user);
        outcomes in the order of ``ops``."""
        with_values = [op for op in ops if op.fields]
        if with_values:
            await self._send_installs(with_values)
        return [
            Outcome.of(op, OutcomeStatus.DELIVERED, "" if op.fields else "nothing to update: no mapped field")
            for op in ops
        ]

    async def _send_installs(self, ops: Sequence[Op]) -> None:
        users = [
            {
                "id": op.identifier,
                "update": {
                    "overwrite": False,
                    "values": {
                        attribute_key(k, v, "u."): None if op.kind is OpKind.CLEAR else _value(v)
                        for k, v in op.fields.items()
                    },
                },
            }
            for op in ops
        ]
        response = await self._post(self._installs_path, users)
        if response.status_code >= 400:
            raise RowRejected(batch_message(response))  # one bad user refuses the request: delivery splits
