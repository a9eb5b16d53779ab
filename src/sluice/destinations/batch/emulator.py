"""A local fake of the Batch APIs Sluice uses (see README.md for what is documented and what is assumed).

- Project API ``POST /2.x/profiles/update``: ``Authorization: Bearer <REST key>`` and
  ``X-Batch-Project`` (401 ``AUTHENTICATION_INVALID`` otherwise), a JSON array of at most 200
  operations (400 ``TOO_MANY_OPERATIONS`` beyond, recorded as a violation), each with
  ``identifiers.custom_id``; profiles are created when missing; attributes ``[a-z0-9_]`` (≤ 30),
  ``$`` native ones, ``date(name)`` typed values, ``null`` deletes; string values ≤ 300 characters;
  events ``{"name" [a-z0-9_]{1,30}, "time", "attributes"}``. Answers 202 ``{"code": "SUCCESS"}`` or
  ``{"code": "SUCCESS_WITH_PARTIAL_ERRORS", "errors": [{"category", "bulk_index", "reason",
  "attribute"}]}``.
- Custom Data API ``POST /1.0/{app API key}/data/users``: ``X-Authorization: <REST key>`` (401
  ``{"code": 10}``), at most 10,000 users ``{"id", "update": {"overwrite", "values": {"u.<name>":
  value}}}`` with at least one value, answers 202 ``{"token"}``; a bad value refuses the whole
  request with 400 ``{"code": 31, "message": "Malformed parameter…"}``.
- ``/profiles/update`` rate: a token bucket of 300 updates per second with peaks up to 1,000, one
  update per distinct custom id of a call; 429 ``{"code": "TOO_MANY_REQUESTS"}`` without
  ``Retry-After`` when spent; 500 ``{"code": "SERVER_ERROR"}``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator, ReceivedEvent
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

REST_KEY = "emulator-batch-rest-key"
PROJECT_KEY = "project_emulator0000000000000000000"
APP_KEY = "EMULATORLIVEAPPKEY000000000000"
OPERATIONS_LIMIT = 200
UPDATES_PER_SECOND = 300.0
BURST_UPDATES = 1000.0
CUSTOM_DATA_LIMIT = 10_000
PROFILE_STRING_MAX = 300
INSTALL_STRING_MAX = 64
ATTRIBUTE = re.compile(r"(?:date|url)\((?P<typed>[^)]+)\)|(?P<plain>.+)")
NAME = re.compile(r"\$?[a-z0-9_]{1,30}")
NATIVE = frozenset(
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
SUBSCRIPTION_STATES = frozenset({"subscribed", "unsubscribed"})


def error(status: int, code: str | int, message: str) -> JSONResponse:
    """Batch's error body ``{"code", "message"}``: numeric codes on the Custom Data API (10
    authentication, 20 route, 30 missing / 31 malformed parameter, 32 malformed JSON, 1 server),
    named codes on the Project APIs (see README.md)."""
    return JSONResponse({"code": code, "message": message}, status)


@dataclass
class BatchProfile:
    custom_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


class Refused(ValueError):
    """One attribute Batch refuses (message, attribute key)."""

    def __init__(self, reason: str, attribute: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attribute = attribute


def _plain_name(key: str) -> str:
    match = ATTRIBUTE.fullmatch(key)
    assert match is not None  # the pattern accepts every non-empty key
    return match.group("typed") or match.group("plain")


class BatchEmulator(Emulator):
    """One Batch project (profiles, events) and one app (install custom data)."""

    name = "batch"
    identifier_kind = IdentifierKind.EXTERNAL_ID
    batch_limit = OPERATIONS_LIMIT
    unknown_contact_message = "profiles are created when missing"
    upsert_specs = (
        TargetSpec(kind="profiles", identifier_kind=IdentifierKind.EXTERNAL_ID),
        TargetSpec(kind="installs", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )
    event_specs = (
        TargetSpec(
            kind="event", name="sluice_conformance_purchase", identifier_kind=IdentifierKind.EXTERNAL_ID
        ),
    )

    def __init__(self, **kwargs: Any) -> None:
        self.rest_key = REST_KEY
        self.project_key = PROJECT_KEY
        self.app_key = APP_KEY
        self.profiles: dict[str, BatchProfile] = {}
        self.installs: dict[str, dict[str, Any]] = {}
        super().__init__(**kwargs)
        self._bucket = BURST_UPDATES
        self._bucket_at = self.clock()

    def rate_limited(self) -> Response:
        return error(429, "TOO_MANY_REQUESTS", "Too many requests, please retry in a few seconds")

    def server_error(self) -> Response:
        return error(500, "SERVER_ERROR", "Internal server error")

    def _take(self, updates: int) -> bool:
        """Token bucket of /profiles/update, counted in updates (distinct custom ids of a call)."""
        now = self.clock()
        self._bucket = min(BURST_UPDATES, self._bucket + (now - self._bucket_at) * UPDATES_PER_SECOND)
        self._bucket_at = now
        if updates > self._bucket:
            return False
        self._bucket -= updates
        return True

    # -- validation ------------------------------------------------------------------------------

    @staticmethod
    def _attributes(values: Any, *, prefix: str, string_max: int, natives: frozenset[str]) -> dict[str, Any]:
        """Attribute key → value as stored (bare names); raises on the first refused attribute."""
        if not isinstance(values, dict):
            raise Refused("attributes must be an object", "")
        stored: dict[str, Any] = {}
        for key, value in values.items():
            name = _plain_name(str(key))
            if prefix:
                if not name.startswith(prefix):
                    raise Refused(f"Attribute keys must start with '{prefix}'", str(key))
                name = name[len(prefix) :]
            native = name.startswith("$")
            if (native and name not in natives) or not NAME.fullmatch(name):
                raise Refused("Invalid attribute name", str(key))
            if name in ("$email_marketing", "$sms_marketing") and value not in (*SUBSCRIPTION_STATES, None):
                raise Refused("Subscription status must be 'subscribed' or 'unsubscribed'", str(key))
            if isinstance(value, str) and len(value) > string_max:
                message = f"String attributes can't be longer than {string_max} characters"
                raise Refused(message, str(key))
            if isinstance(value, dict) and prefix:
                raise Refused("Objects are not supported", str(key))
            stored[name] = value
        return stored

    @staticmethod
    def _apply(into: dict[str, Any], values: dict[str, Any]) -> None:
        for name, value in values.items():
            if value is None:
                into.pop(name, None)  # null deletes the attribute
            else:
                into[name] = value

    def _operation(self, operation: Any) -> None:
        """Apply one profile operation; raises :class:`Refused` when Batch refuses it."""
        if not isinstance(operation, dict) or not isinstance(operation.get("identifiers"), dict):
            raise Refused("identifiers is required", "identifiers")
        custom_id = operation["identifiers"].get("custom_id")
        if not isinstance(custom_id, str) or not custom_id.strip():
            raise Refused("identifiers.custom_id must be a non-empty string", "identifiers.custom_id")
        attributes = self._attributes(
            operation.get("attributes") or {}, prefix="", string_max=PROFILE_STRING_MAX, natives=NATIVE
        )
        events = operation.get("events") or []
        for event in events:
            if not isinstance(event, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,30}", str(event.get("name", ""))
            ):
                raise Refused("Event name must match [a-z0-9_]{1,30}", "events.name")
            self._attributes(
                event.get("attributes") or {},
                prefix="",
                string_max=PROFILE_STRING_MAX,
                natives=EVENT_RESERVED,
            )
        profile = self.profiles.setdefault(custom_id, BatchProfile(custom_id))
        self._apply(profile.attributes, attributes)
        for event in events:
            profile.events.append(
                {
                    "name": event["name"],
                    "time": event.get("time"),
                    "attributes": event.get("attributes") or {},
                }
            )

    # -- routes ----------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/{version}/profiles/update")
        async def profiles_update(version: str, request: Request) -> Response:
            if not re.fullmatch(r"2\.\d+", version):
                return error(404, "ROUTE_NOT_FOUND", f"Unknown API version {version}")
            if request.headers.get("authorization") != f"Bearer {self.rest_key}":
                return error(401, "AUTHENTICATION_INVALID", "The REST API key is missing or invalid")
            if request.headers.get("x-batch-project") != self.project_key:
                return error(
                    401, "AUTHENTICATION_INVALID", "The project key (X-Batch-Project) is missing or invalid"
                )
            body = await self.json_body(request)
            if not isinstance(body, list):
                return error(400, "MALFORMED_JSON_BODY", "The body must be a JSON array of operations")
            if len(body) > OPERATIONS_LIMIT:
                self.violation(f"{len(body)} operations in one /profiles/update request")
                return error(
                    400,
                    "TOO_MANY_OPERATIONS",
                    f"You can specify at most {OPERATIONS_LIMIT} operations per call",
                )
            custom_ids = {
                str(op["identifiers"].get("custom_id"))
                for op in body
                if isinstance(op, dict) and isinstance(op.get("identifiers"), dict)
            }
            if not self._take(len(custom_ids)):
                return self.rate_limited()
            errors = []
            for index, operation in enumerate(body):
                try:
                    self._operation(operation)
                except Refused as refused:
                    entry: dict[str, Any] = {
                        "category": "VALIDATION",
                        "bulk_index": index,
                        "reason": refused.reason,
                    }
                    if refused.attribute:
                        entry["attribute"] = refused.attribute
                    errors.append(entry)
            if errors:
                return JSONResponse({"code": "SUCCESS_WITH_PARTIAL_ERRORS", "errors": errors}, 202)
            return JSONResponse({"code": "SUCCESS"}, 202)

        @app.post("/1.0/{app_key}/data/users")
        async def custom_data(app_key: str, request: Request) -> JSONResponse:
            if request.headers.get("x-authorization") != self.rest_key or app_key != self.app_key:
                return error(401, 10, "Authentication is invalid")
            body = await self.json_body(request)
            if not isinstance(body, list):
                return error(400, 32, "Malformed JSON body: expected an array of users")
            if len(body) > CUSTOM_DATA_LIMIT:
                self.violation(f"{len(body)} users in one custom data request")
                return error(400, 31, f"Malformed parameter: at most {CUSTOM_DATA_LIMIT} users per call")
            updates: list[tuple[str, dict[str, Any], bool]] = []
            for index, user in enumerate(body):
                try:
                    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
                        raise Refused("id must be a non-empty string", "id")
                    update = user.get("update")
                    if not isinstance(update, dict) or not update.get("values"):
                        raise Refused("update.values must hold at least one attribute", "update.values")
                    values = self._attributes(
                        update.get("values") or {},
                        prefix="u.",
                        string_max=INSTALL_STRING_MAX,
                        natives=frozenset(),
                    )
                except Refused as refused:
                    detail = f"users[{index}]: {refused.reason} ({refused.attribute})"
                    return error(400, 31, f"Malformed parameter: {detail}")
                updates.append((user["id"], values, bool(update.get("overwrite"))))
            for custom_id, values, overwrite in updates:
                held = self.installs.setdefault(custom_id, {})
                if overwrite:
                    held.clear()
                self._apply(held, values)
            return JSONResponse({"token": str(uuid.uuid4())}, 202)

    def state(self) -> dict[str, Any]:
        return {
            "profiles": len(self.profiles),
            "events": sum(len(p.events) for p in self.profiles.values()),
            "installs": len(self.installs),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def contact_identifier(self, number: int) -> str:
        return f"ext-{number}"

    def invalid_identifier(self) -> str:
        return " "

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            self.profiles.setdefault(identifier, BatchProfile(identifier))
            self.installs.setdefault(identifier, {})

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "rest_api_key": self.rest_key if valid else "wrong-key",
            "project_key": self.project_key,
            "app_api_key": self.app_key,
            "base_url": base_url.rstrip("/"),
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="profiles", identifier_kind=IdentifierKind.EXTERNAL_ID)

    def members(self, target: Target) -> set[str]:
        return set(self.records(target))

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.seed_contacts(identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        """Batch targets (profiles, installs, event names) need no creation."""

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"first_name": f"Ann{number}v{version}", "loyalty_points": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        if target.kind == "installs":
            return {custom_id: dict(values) for custom_id, values in self.installs.items()}
        return {custom_id: dict(p.attributes) for custom_id, p in self.profiles.items()}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        limit = INSTALL_STRING_MAX if target.kind == "installs" else PROFILE_STRING_MAX
        return {"nickname": "x" * (limit + 1)}, f"can't be longer than {limit} characters"

    def events(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(custom id, event) for every event ``name`` received, in arrival order per profile."""
        return [(p.custom_id, e) for p in self.profiles.values() for e in p.events if e["name"] == name]

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        return {"time": occurred_at, "amount": number * 10, "currency": "EUR"}

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        return [
            ReceivedEvent(custom_id, moment)
            for custom_id, event in self.events(target.id)
            if (moment := _iso_time(event.get("time"))) is not None
        ]


def _iso_time(value: Any) -> datetime | None:
    """A Batch event ``time``: ISO-8601 (``Z`` or an offset)."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
