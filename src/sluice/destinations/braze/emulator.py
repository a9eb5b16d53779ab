"""A local fake of the Braze REST API (the parts Sluice uses).

Faithful to: ``Authorization: Bearer`` (401 "Invalid API key"), ``POST /users/track`` with at most
75 attribute / event objects per array (400 beyond), each object naming one of ``external_id``,
``email``, ``braze_id``; ``_update_existing_only`` (unknown users skipped with an indexed error,
others created), array modifiers ``{"add": […], "remove": […]}``, ``{"message": "success",
"errors": [{"type", "input_array", "index"}]}`` for skipped objects and a 400 "Valid data must be
provided…" when none is valid; ``/v2/subscription/status/set`` (≤ 50 ids per group),
``/users/delete`` (≤ 50), ``GET /custom_attributes`` (50 per page, ``Link`` header cursor),
``GET /events/list`` (250 per page), fixed rate windows reported in ``X-RateLimit-*`` on every
response and a 429 with the same headers.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator, ReceivedEvent, local_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

API_KEY = "emulator-braze-rest-key"
TRACK_LIMIT = 75
GROUP_LIMIT = 50
DELETE_LIMIT = 50
ATTRIBUTES_PAGE = 50
EVENTS_PAGE = 250
WINDOW_SECONDS = 3.0
NOT_FOUND = "No user found for the identifier; _update_existing_only is true"
NO_VALID_DATA = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
IDENTIFIERS = ("external_id", "braze_id", "email", "phone", "user_alias")
RESERVED = {*IDENTIFIERS, "_update_existing_only", "push_token_import"}


@dataclass
class BrazeUser:
    braze_id: str
    external_id: str | None = None
    email: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[str, str] = field(default_factory=dict)


def _data_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, list | dict):
        return "Array"
    return "String"


class BrazeEmulator(Emulator):
    """One Braze workspace; ``limit_per_window`` requests per 3 s."""

    name = "braze"
    identifier_kind = IdentifierKind.EMAIL
    batch_limit = TRACK_LIMIT
    unknown_contact_message = NOT_FOUND
    upsert_specs = (
        TargetSpec(kind="users", identifier_kind=IdentifierKind.EXTERNAL_ID),
        TargetSpec(kind="users", identifier_kind=IdentifierKind.EMAIL),
    )
    event_specs = (TargetSpec(kind="event", name="sluice_conformance_purchase"),)

    def __init__(self, *, limit_per_window: int = 3000, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.users: list[BrazeUser] = []
        self.custom_attributes: dict[str, str] = {}  # name → data type
        self.event_names: set[str] = set()
        self.limit_per_window = limit_per_window
        self._window_start = 0.0
        self._window_used = 0
        self._ids = itertools.count(1)
        super().__init__(**kwargs)

    # -- rate windows and errors -----------------------------------------------------------

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        if now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._window_used = now, 0
        return max(self.limit_per_window - self._window_used, 0), self._window_start + WINDOW_SECONDS

    def response_headers(self) -> dict[str, str]:
        remaining, reset = self._window()
        return {
            "X-RateLimit-Limit": str(self.limit_per_window),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(reset + 0.999)),
        }

    def rate_limited(self) -> Response:
        self._window()
        self._window_used = self.limit_per_window
        return JSONResponse({"message": "API rate limit exceeded"}, 429, headers=self.response_headers())

    def server_error(self) -> Response:
        return JSONResponse({"message": "Internal Server Error"}, 500)

    async def gate(self, request: Request) -> Response | None:
        remaining, _ = self._window()
        if remaining <= 0:
            return self.rate_limited()
        self._window_used += 1
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"message": "Invalid API key"}, 401, headers=self.response_headers())
        return None

    # -- users -------------------------------------------------------------------------------

    def find(self, key: str, value: Any) -> BrazeUser | None:
        for user in self.users:
            stored = getattr(user, key, None)
            if stored is not None and (
                stored.lower() == str(value).lower() if key == "email" else stored == str(value)
            ):
                return user
        return None

    def _new_user(self, key: str, value: str) -> BrazeUser:
        user = BrazeUser(braze_id=f"5f{next(self._ids):022x}")
        setattr(user, key, value)
        self.users.append(user)
        return user

    def _resolve(self, obj: dict[str, Any], update_only_default: bool = False) -> BrazeUser | str:
        keys = [k for k in IDENTIFIERS if obj.get(k) not in (None, "")]
        if not keys:
            return "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
        key = "external_id" if "external_id" in keys else keys[0]
        if key in ("phone", "user_alias"):
            return f"{key} identifiers are not served by this emulator"
        user = self.find(key, obj[key])
        if user is not None:
            return user
        if obj.get("_update_existing_only", update_only_default) or key == "braze_id":
            return NOT_FOUND
        return self._new_user(key, str(obj[key]))

    def _set_attributes(self, user: BrazeUser, obj: dict[str, Any]) -> None:
        for name, value in obj.items():
            if name in RESERVED and name != "email":
                continue
            if name == "email":
                user.email = value
                continue
            if isinstance(value, dict) and ({"add", "remove"} & value.keys()):
                items = list(user.attributes.get(name) or [])
                items += [v for v in value.get("add") or [] if v not in items]
                items = [v for v in items if v not in (value.get("remove") or [])]
                value = items
            if value is None:
                user.attributes.pop(name, None)
                continue
            user.attributes[name] = value
            self.custom_attributes.setdefault(name, _data_type(value))

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/users/track")
        async def track(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            if not isinstance(body, dict):
                return JSONResponse({"message": NO_VALID_DATA}, 400)
            for array in ("attributes", "events", "purchases"):
                if len(body.get(array) or []) > TRACK_LIMIT:
                    self.violation(f"{len(body[array])} {array} objects in one /users/track request")
                    return JSONResponse(
                        {"message": f"Too many objects in '{array}': at most {TRACK_LIMIT} per request"}, 400
                    )
            errors: list[dict[str, Any]] = []
            processed = {"attributes": 0, "events": 0}
            for index, obj in enumerate(body.get("attributes") or []):
                found = self._resolve(obj)
                if isinstance(found, str):
                    errors.append({"type": found, "input_array": "attributes", "index": index})
                    continue
                self._set_attributes(found, obj)
                processed["attributes"] += 1
            for index, obj in enumerate(body.get("events") or []):
                problem = next((f"'{k}' is required" for k in ("name", "time") if not obj.get(k)), None)
                if problem is None and _iso_time(obj["time"]) is None:
                    problem = "'time' must be an ISO-8601 time"
                found = problem or self._resolve(obj)
                if isinstance(found, str):
                    errors.append({"type": found, "input_array": "events", "index": index})
                    continue
                found.events.append({k: obj.get(k) for k in ("name", "time", "properties")})
                self.event_names.add(str(obj["name"]))
                processed["events"] += 1
            if not any(processed.values()):
                return JSONResponse({"message": NO_VALID_DATA, "errors": errors}, 400)
            answer: dict[str, Any] = {"message": "success"}
            for array, count in processed.items():
                if count:
                    answer[f"{array}_processed"] = count
            if errors:
                answer["errors"] = errors
            return JSONResponse(answer, 201)

        @app.post("/v2/subscription/status/set")
        async def subscription_status(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            groups = body.get("subscription_groups") if isinstance(body, dict) else None
            if not groups:
                return JSONResponse({"message": "subscription_groups is required"}, 400)
            for group in groups:
                state = group.get("subscription_state")
                if not group.get("subscription_group_id") or state not in ("subscribed", "unsubscribed"):
                    return JSONResponse(
                        {
                            "message": "subscription_group_id and subscription_state (subscribed|unsubscribed) are required"
                        },
                        400,
                    )
                ids = [("external_id", v) for v in group.get("external_ids") or []]
                ids += [("email", v) for v in group.get("emails") or []]
                if not ids or len(ids) > GROUP_LIMIT:
                    if ids:
                        self.violation(f"{len(ids)} users in one subscription group update")
                    return JSONResponse({"message": f"Provide between 1 and {GROUP_LIMIT} users"}, 400)
                for key, value in ids:
                    user = self.find(key, value)
                    if user is not None:  # unknown users are ignored (assumption, see README)
                        user.subscriptions[str(group["subscription_group_id"])] = str(state)
            return JSONResponse({"message": "success"}, 201)

        @app.post("/users/delete")
        async def delete(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            ids = [("external_id", v) for v in (body or {}).get("external_ids") or []]
            ids += [("braze_id", v) for v in (body or {}).get("braze_ids") or []]
            if len(ids) > DELETE_LIMIT:
                self.violation(f"{len(ids)} users in one /users/delete request")
                return JSONResponse({"message": f"At most {DELETE_LIMIT} users per request"}, 400)
            deleted = 0
            for key, value in ids:
                user = self.find(key, value)
                if user is not None:
                    self.users.remove(user)
                    deleted += 1
            return JSONResponse({"message": "success", "deleted": deleted}, 201)

        @app.get("/custom_attributes")
        async def custom_attributes(request: Request) -> JSONResponse:
            names = sorted(self.custom_attributes)
            cursor = request.query_params.get("cursor")
            start = int(cursor) if cursor and cursor.isdigit() else 0
            size = self.page_size(ATTRIBUTES_PAGE, ATTRIBUTES_PAGE)
            page = names[start : start + size]
            headers: dict[str, str] = {}
            if start + size < len(names):
                url = f"{request.base_url}".rstrip("/") + local_path(request) + f"?cursor={start + size}"
                headers["Link"] = f'<{url}>; rel="next"'
            attributes: list[dict[str, Any]] = [
                {
                    "name": n,
                    "data_type": self.custom_attributes[n],
                    "description": None,
                    "status": "Active",
                    "array_length": None,
                    "tag_names": [],
                }
                for n in page
            ]
            return JSONResponse({"message": "success", "attributes": attributes}, headers=headers)

        @app.get("/events/list")
        async def events_list(request: Request) -> dict[str, Any]:
            page = int(request.query_params.get("page", 0))
            size = self.page_size(EVENTS_PAGE, EVENTS_PAGE)
            names = sorted(self.event_names)
            return {"message": "success", "events": names[page * size : (page + 1) * size]}

    def state(self) -> dict[str, Any]:
        return {
            "users": len(self.users),
            "custom_attributes": self.custom_attributes,
            "events": sum(len(u.events) for u in self.users),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        known = {
            _seed_key(key, getattr(u, key, None)) for u in self.users for key in ("email", "external_id")
        }
        for identifier in identifiers:
            key = "email" if "@" in identifier else "external_id"
            if _seed_key(key, identifier) not in known:  # one pass, not a scan per contact (100k in the demo)
                known.add(_seed_key(key, identifier))
                user = self._new_user(key, identifier)
                if key == "email":
                    user.external_id = f"ext-{uuid.uuid5(uuid.NAMESPACE_URL, identifier).hex[:12]}"

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {"api_key": self.api_key if valid else "wrong-key", "rest_endpoint": base_url.rstrip("/")}

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="attribute", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        if target.kind == "segments_array":
            array = target.parent_id or "sluice_segments"
            return {
                u.email or u.external_id or u.braze_id
                for u in self.users
                if target.id in (u.attributes.get(array) or [])
            }
        return {
            u.email or u.external_id or u.braze_id for u in self.users if u.attributes.get(target.id) is True
        }

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            user = self.find("email" if "@" in identifier else "external_id", identifier)
            if user is not None:
                user.attributes[target.id] = True
        self.custom_attributes.setdefault(target.id, "Boolean")

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"first_name": f"Ann{number}v{version}", "loyalty_points": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        key = "email" if target.identifier_kind is IdentifierKind.EMAIL else "external_id"
        return {str(getattr(u, key)): dict(u.attributes) for u in self.users if getattr(u, key)}

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.custom_attributes[name] = "Boolean"

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        return {"time": occurred_at, "amount": number * 10, "currency": "EUR"}

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        return [
            ReceivedEvent(str(u.email or u.external_id or u.braze_id), at)
            for u in self.users
            for event in u.events
            if event["name"] == target.id and (at := _iso_time(event["time"])) is not None
        ]


def _iso_time(value: Any) -> datetime | None:
    """Braze event ``time``: an ISO-8601 string (UTC when it names no offset)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seed_key(key: str, value: object) -> tuple[str, str | None]:
    """How seeding recognises an existing contact: e-mails whatever their case."""
    if value is None:
        return (key, None)
    return (key, str(value).lower() if key == "email" else str(value))
