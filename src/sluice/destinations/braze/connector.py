"""Braze REST API: user attributes, custom events, subscription groups and segment membership.

- Upsert and membership write attribute objects, events write event objects, both through
  ``POST /users/track`` (at most 75 objects of one kind per request). Braze answers 201 with
  ``{"message": "success", "errors": [{"type", "input_array", "index"}]}`` for objects it skipped,
  or a 4xx whose ``errors`` name each object when none was valid.
- Membership: Braze has no static list API, so a segment is a **boolean custom attribute**
  (``sluice_<segment>``) set ``true`` on entry and ``false`` on exit; see README.md for why.
- Consent: ``POST /v2/subscription/status/set`` (at most 50 users per group entry).
- Deletion (upsert removal behaviour *delete*): ``POST /users/delete`` (at most 50 ids).
- Rate headers ``X-RateLimit-Limit/Remaining/Reset`` (Unix seconds) on every response.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from sluice.destinations.braze.config import BrazeActivationDefaults, BrazeConfig
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.events import EVENT_TIME_FIELD, BadEventTime, event_time
from sluice.destinations.http import RateHeaders
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

ATTRIBUTE = "attribute"
SEGMENTS_ARRAY = "segments_array"
USERS = "users"
EVENT = "event"
SUBSCRIPTION_GROUP = "subscription_group"
TRACK_LIMIT = 75
SUBSCRIPTION_LIMIT = 50
DELETE_LIMIT = 50
ID_FIELD = {
    IdentifierKind.EXTERNAL_ID: "external_id",
    IdentifierKind.EMAIL: "email",
    IdentifierKind.PLATFORM_ID: "braze_id",
}
SUBSCRIPTION_FIELD = {IdentifierKind.EXTERNAL_ID: "external_ids", IdentifierKind.EMAIL: "emails"}
DELETE_FIELD = {IdentifierKind.EXTERNAL_ID: "external_ids", IdentifierKind.PLATFORM_ID: "braze_ids"}


def braze_message(response: httpx.Response) -> str:
    """Braze's ``message`` and the types of its ``errors``."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    types = [str(e.get("type", e)) if isinstance(e, dict) else str(e) for e in body.get("errors") or []]
    message = str(body.get("message") or f"HTTP {response.status_code}")
    return f"{message}: {'; '.join(types)}" if types else message


def attribute_name(prefix: str, segment: str) -> str:
    """The custom attribute marking members of ``segment`` (lower case, ``[a-z0-9_]``)."""
    slug = re.sub(r"[^a-z0-9]+", "_", segment.lower()).strip("_")
    return f"{prefix}{slug}"[:255]


class BrazeConnector(Connector):
    """Braze users addressed by external id, email or Braze id."""

    type_name = "braze"
    title = "Braze"
    description = (
        "Synchronize user attributes, send track events, synchronize subscription groups and "
        "export segments as a boolean custom attribute."
    )
    docs_url = "https://www.braze.com/docs/api/endpoints/user_data/post_user_track/"
    config_model = BrazeConfig
    activation_defaults = BrazeActivationDefaults
    standard_fields = (
        StandardField("first_name", "first_name", "First name"),
        StandardField("last_name", "last_name", "Last name"),
        StandardField("phone", "phone", "Phone number"),
        StandardField("country", "country", "Country (ISO-3166-1 alpha-2)"),
        StandardField("home_city", "city", "Home city"),
        StandardField("dob", "birth_date", "Date of birth (YYYY-MM-DD)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT, Service.EVENTS, Service.CONSENT}),
        target_kinds=frozenset({ATTRIBUTE, SEGMENTS_ARRAY, USERS, EVENT, SUBSCRIPTION_GROUP}),
        identifiers=frozenset(ID_FIELD),
        batch_size=TRACK_LIMIT,
        concurrency=8,
        rate_limit=RateLimit(1000, 1.0),
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Braze exports segment members only asynchronously to cloud storage "
        "(/users/export/segment), so Braze audiences cannot be read back as remote segments.",
        full_refresh="not available: members cannot be read back, only the diff is applied",
        event_dedupe_note="Braze counts every event object it receives (custom events carry no id "
        "it deduplicates on); Sluice sends each event once, but a retry after a lost answer can "
        "count it twice.",
    )
    config: BrazeConfig

    @classmethod
    def base_url(cls, config: BrazeConfig) -> str:
        return config.rest_endpoint.rstrip("/")

    @classmethod
    def auth_headers(cls, config: BrazeConfig) -> dict[str, str]:
        return {"Authorization": f"Bearer {config.api_key.get_secret_value()}"}

    @classmethod
    def rate_limit_for(cls, config: BrazeConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        def number(name: str) -> float | None:
            try:
                return float(response.headers[name])
            except (KeyError, ValueError):
                return None

        remaining, reset = number("X-RateLimit-Remaining"), number("X-RateLimit-Reset")
        return RateHeaders(
            retry_after=None,
            remaining=int(remaining) if remaining is not None else None,
            reset_in=max(reset - now, 0.0) + 0.1 if reset is not None else None,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Braze refused the API key for {path}: {braze_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/custom_attributes")
        if response.status_code >= 400:
            raise ConfigError(f"Braze answered {braze_message(response)}")
        return f"connected to Braze at {self.config.rest_endpoint}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == USERS:
            return TargetPage([Target(USERS, USERS, "Braze user profiles")])
        if kind in (SUBSCRIPTION_GROUP, SEGMENTS_ARRAY):
            return TargetPage([])  # Braze lists neither subscription groups nor array values by API
        if kind == EVENT:
            page = int(cursor or 0)
            response = await self._call("GET", "/events/list", params={"page": page})
            names = [str(n) for n in response.json().get("events") or []]
            return TargetPage([Target(EVENT, n, n) for n in names], str(page + 1) if names else None)
        params = {"cursor": cursor} if cursor else None
        response = await self._call("GET", "/custom_attributes", params=params)
        attributes = response.json().get("attributes") or []
        items = [
            Target(ATTRIBUTE, str(a["name"]), str(a["name"]))
            for a in attributes
            if str(a.get("data_type", "")).lower().startswith("boolean")
        ]
        return TargetPage(items, _next_cursor(response))

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == USERS:
            return Target(USERS, USERS, "Braze user profiles")
        if spec.kind == EVENT:
            name = spec.id or spec.name
            if not name:
                raise ConfigError("name the Braze custom event to send")
            return Target(EVENT, name, name)
        if spec.kind == SUBSCRIPTION_GROUP:
            if not spec.id:
                raise ConfigError("pick the Braze subscription group by its id (Subscription Groups page)")
            return Target(SUBSCRIPTION_GROUP, spec.id, spec.name or spec.id)
        if spec.kind == SEGMENTS_ARRAY:
            value = spec.id or attribute_name("", spec.name)
            if not value:
                raise ConfigError("name the segment to list in the Braze array attribute")
            return Target(
                SEGMENTS_ARRAY, value, spec.name or value, parent_id=self.config.segments_array_attribute
            )
        if spec.kind != ATTRIBUTE:
            raise ConfigError(f"Braze has no target kind {spec.kind!r}")
        # Braze creates a custom attribute on its first write: nothing to create up front.
        name = spec.id or attribute_name(self.config.membership_attribute_prefix, spec.name)
        if not name:
            raise ConfigError("name the Braze custom attribute")
        return Target(ATTRIBUTE, name, name)

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        allowed = {
            ATTRIBUTE: (OpKind.ADD, OpKind.REMOVE),
            SEGMENTS_ARRAY: (OpKind.ADD, OpKind.REMOVE),
            USERS: (OpKind.UPSERT, OpKind.CLEAR, OpKind.DELETE),
            EVENT: (OpKind.EVENT,),
            SUBSCRIPTION_GROUP: (OpKind.CONSENT_SET, OpKind.CONSENT_REVERT),
        }.get(target.kind, ())
        if kind not in allowed:
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, f"Braze {target.kind} targets do not support {op.kind}"
                )
                for op in ops
            ]
        if target.kind == SUBSCRIPTION_GROUP:
            return await self._subscriptions(target, ops)
        if kind is OpKind.DELETE:
            return await self._delete(target, ops)
        if kind is OpKind.EVENT:
            return await self._track(ops, "events", [self._event(target, op) for op in ops])
        return await self._track(ops, "attributes", [self._attributes(target, op) for op in ops])

    def _who(self, target: Target, op: Op) -> dict[str, Any]:
        return {ID_FIELD[target.identifier_kind]: op.identifier}

    def _attributes(self, target: Target, op: Op) -> dict[str, Any]:
        body = self._who(target, op)
        if op.kind in (OpKind.ADD, OpKind.REMOVE) and target.kind == SEGMENTS_ARRAY:
            array = target.parent_id or self.config.segments_array_attribute
            body[array] = {"add" if op.kind is OpKind.ADD else "remove": [target.id]}
            body["_update_existing_only"] = True
            return body
        if op.kind in (OpKind.ADD, OpKind.REMOVE):
            body[target.id] = op.kind is OpKind.ADD
            body["_update_existing_only"] = True  # membership never creates users
            return body
        values = {name: None if op.kind is OpKind.CLEAR else value for name, value in op.fields.items()}
        body.update(_jsonable(values))
        body["_update_existing_only"] = not self.config.create_users
        return body

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Also refuse an event whose time cannot be read (Braze wants ISO-8601)."""
        if op.kind is OpKind.EVENT and op.fields.get(EVENT_TIME_FIELD):
            try:
                event_time(op.fields[EVENT_TIME_FIELD])
            except BadEventTime as exc:
                return str(exc)
        return super().invalid_reason(op, kind)

    def _event(self, target: Target, op: Op) -> dict[str, Any]:
        properties = {k: v for k, v in op.fields.items() if k != EVENT_TIME_FIELD and v is not None}
        moment = op.fields.get(EVENT_TIME_FIELD) or datetime.fromtimestamp(self.http.clock(), UTC)
        return {
            **self._who(target, op),
            "name": target.id,
            # an ISO-8601 text is sent as written (invalid_reason refused any other text)
            "time": moment if isinstance(moment, str) else event_time(moment).isoformat(),
            "properties": _jsonable(properties),
            "_update_existing_only": not self.config.create_users,
        }

    async def _track(self, ops: Sequence[Op], array: str, objects: list[dict[str, Any]]) -> list[Outcome]:
        response = await self._call("POST", "/users/track", json={array: objects})
        errors: dict[int, str] = {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        for error in (body.get("errors") or []) if isinstance(body, dict) else []:
            if isinstance(error, dict) and error.get("input_array", array) == array and "index" in error:
                errors.setdefault(int(error["index"]), str(error.get("type", "rejected by Braze")))
        if response.status_code >= 400 and len(errors) < len(ops):
            raise RowRejected(braze_message(response))
        outcomes = []
        for index, op in enumerate(ops):
            if index not in errors:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif op.kind is OpKind.REMOVE:  # a user Braze does not know carries no attribute: done
                outcomes.append(
                    Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {errors[index]}")
                )
            else:
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, errors[index]))
        return outcomes

    async def _subscriptions(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        field = SUBSCRIPTION_FIELD.get(target.identifier_kind)
        if field is None:
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, "Braze subscription groups take external ids or emails"
                )
                for op in ops
            ]
        state = "subscribed" if ops[0].kind is OpKind.CONSENT_SET else "unsubscribed"
        outcomes: list[Outcome] = []
        for start in range(0, len(ops), SUBSCRIPTION_LIMIT):
            chunk = ops[start : start + SUBSCRIPTION_LIMIT]
            group = {
                "subscription_group_id": target.id,
                "subscription_state": state,
                field: list(dict.fromkeys(op.identifier for op in chunk)),
            }
            response = await self._call(
                "POST", "/v2/subscription/status/set", json={"subscription_groups": [group]}
            )
            if response.status_code >= 400:
                message = braze_message(response)
                if "subscription group" in message.lower() and response.status_code == 404:
                    raise ConfigError(f"Braze subscription group {target.id}: {message}")
                raise RowRejected(message)
            outcomes += [Outcome.of(op, OutcomeStatus.DELIVERED) for op in chunk]
        return outcomes

    async def _delete(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        field = DELETE_FIELD.get(target.identifier_kind)
        if field is None:
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, "Braze deletes users by external id or Braze id only")
                for op in ops
            ]
        for start in range(0, len(ops), DELETE_LIMIT):
            chunk = ops[start : start + DELETE_LIMIT]
            response = await self._call(
                "POST", "/users/delete", json={field: [op.identifier for op in chunk]}
            )
            if response.status_code >= 400:
                raise RowRejected(braze_message(response))
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]


def _next_cursor(response: httpx.Response) -> str | None:
    """The ``cursor`` of the ``Link: <…>; rel="next"`` header, if any."""
    for part in response.headers.get("link", "").split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel.replace(" ", ""):
            values = parse_qs(urlparse(url.strip().strip("<>")).query).get("cursor")
            return values[0] if values else None
    return None


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Dates as ISO-8601 strings (Braze's time attributes), decimals as floats."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        elif value is not None and type(value).__name__ == "Decimal":
            out[name] = float(value)
        else:
            out[name] = value
    return out
