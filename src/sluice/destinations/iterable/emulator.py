"""A local fake of the Iterable API (the parts Sluice uses).

Faithful to: the ``Api-Key`` header (401 ``BadApiKey``), ``{"msg", "code", "params"}`` error bodies,
per-endpoint rate limits answered with 429 ``RateLimitExceeded`` (no rate headers), static lists
(``GET/POST /api/lists``), ``/api/lists/subscribe`` and ``/unsubscribe`` (≤ 1,000 subscribers,
``updateExistingUsersOnly``), ``/api/lists/getUsers`` as plain text, ``/api/users/bulkUpdate``
(≤ 1,000 users; creates missing users; a field's type is fixed by its first value and a value of
another type lands in ``failedUpdates.invalidDataEmails``) and user deletion. Per-user failures come
back in a 200 body: ``successCount``, ``failCount``, ``invalidEmails``/``invalidUserIds`` and the
``failedUpdates`` groups.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from sluice.destinations.emulation import Emulator, local_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

API_KEY = "emulator-iterable-key"
BULK_LIMIT = 1000
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
GROUPS = ("notFound", "invalidData", "conflict", "forgotten", "invalid")


@dataclass
class User:
    email: str | None
    user_id: str | None
    data_fields: dict[str, Any] = field(default_factory=dict)


def iterable_error(status: int, code: str, msg: str) -> JSONResponse:
    return JSONResponse({"msg": msg, "code": code, "params": None}, status_code=status)


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "object" if isinstance(value, dict | list) else "string"


class _Result:
    """The per-user accounting of one bulk call, in Iterable's response shape."""

    def __init__(self) -> None:
        self.success = 0
        self.failed: dict[str, list[str]] = defaultdict(list)

    def fail(self, group: str, subscriber: dict[str, Any]) -> None:
        if "userId" in subscriber and not subscriber.get("email"):
            self.failed[f"{group}UserIds"].append(str(subscriber["userId"]))
        else:
            self.failed[f"{group}Emails"].append(str(subscriber.get("email")))

    def body(self) -> dict[str, Any]:
        groups = [g for g in GROUPS if g != "invalid"]
        return {
            "successCount": self.success,
            "failCount": sum(len(v) for v in self.failed.values()),
            "invalidEmails": self.failed.get("invalidEmails", []),
            "invalidUserIds": self.failed.get("invalidUserIds", []),
            "filteredOutFields": [],
            "failedUpdates": {
                f"{g}{suffix}": self.failed.get(f"{g}{suffix}", [])
                for g in groups
                for suffix in ("Emails", "UserIds")
            },
        }


class IterableEmulator(Emulator):
    """One Iterable project; ``limit_per_second`` calls per endpoint per second."""

    name = "iterable"
    batch_limit = BULK_LIMIT
    unknown_contact_message = "notFound"
    upsert_specs = (
        TargetSpec("user", identifier_kind=IdentifierKind.EMAIL),
        TargetSpec("user", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )

    def __init__(self, *, limit_per_second: int = 10, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.users: list[User] = []
        self._by_email: dict[str, int] = {}  # lowercased email → index in users
        self._by_user_id: dict[str, int] = {}
        self.lists: dict[int, tuple[str, set[int]]] = {}  # id → (name, user indexes)
        self.field_types: dict[str, str] = {"loyaltyPoints": "number"}
        self.limit_per_second = limit_per_second
        self._windows: dict[str, tuple[int, int]] = {}  # endpoint → (second, calls)
        self._ids = itertools.count(1_204_001)
        super().__init__(**kwargs)

    # -- limits and errors -------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return iterable_error(429, "RateLimitExceeded", "Exceeded rate limit for endpoint")

    def server_error(self) -> Response:
        return iterable_error(500, "GenericError", "Internal server error")

    async def gate(self, request: Request) -> Response | None:
        if request.headers.get("api-key") != self.api_key:
            return iterable_error(401, "BadApiKey", "Invalid API key")
        endpoint = f"{request.method} {local_path(request)}"
        second = int(self.clock())
        start, calls = self._windows.get(endpoint, (second, 0))
        calls = calls + 1 if start == second else 1
        self._windows[endpoint] = (second, calls)
        if calls > self.limit_per_second:
            return iterable_error(429, "RateLimitExceeded", f"Exceeded rate limit for endpoint: {endpoint}")
        return None

    # -- users ---------------------------------------------------------------------------------

    def find(self, subscriber: dict[str, Any]) -> int | None:
        email, user_id = subscriber.get("email"), subscriber.get("userId")
        if user_id is not None and (subscriber.get("preferUserId") or not email):
            return self._by_user_id.get(str(user_id))
        return self._by_email.get(str(email).lower()) if email is not None else None

    def _add(self, user: User) -> int:
        self.users.append(user)
        index = len(self.users) - 1
        if user.email:
            self._by_email[user.email.lower()] = index
        if user.user_id:
            self._by_user_id[user.user_id] = index
        return index

    def _invalid(self, subscriber: dict[str, Any]) -> bool:
        email = subscriber.get("email")
        if email is not None:
            return not EMAIL.fullmatch(str(email))
        return not str(subscriber.get("userId") or "").strip()

    def _create(self, subscriber: dict[str, Any]) -> int:
        return self._add(User(subscriber.get("email"), subscriber.get("userId")))

    def _bulk_update(self, users: list[dict[str, Any]]) -> dict[str, Any]:
        result = _Result()
        for entry in users:
            if self._invalid(entry):
                result.fail("invalid", entry)
                continue
            fields = dict(entry.get("dataFields") or {})
            clash = [
                name
                for name, value in fields.items()
                if value is not None and self.field_types.get(name, _type_of(value)) != _type_of(value)
            ]
            if clash:
                result.fail("invalidData", entry)
                continue
            index = self.find(entry)
            if index is None:
                index = self._create(entry)
            for name, value in fields.items():
                if value is not None:
                    self.field_types.setdefault(name, _type_of(value))
            self.users[index].data_fields.update(fields)
            result.success += 1
        return result.body()

    def _membership(self, body: dict[str, Any], adding: bool) -> Response:
        subscribers = body.get("subscribers") or []
        if len(subscribers) > BULK_LIMIT:
            self.violation(f"{len(subscribers)} subscribers in one list call")
            return iterable_error(400, "BadParams", f"At most {BULK_LIMIT} subscribers per request")
        list_id = body.get("listId")
        if list_id not in self.lists:
            return iterable_error(400, "BadParams", f"List {list_id} does not exist")
        members = self.lists[list_id][1]
        existing_only = bool(body.get("updateExistingUsersOnly"))
        result = _Result()
        for subscriber in subscribers:
            if self._invalid(subscriber):
                result.fail("invalid", subscriber)
                continue
            index = self.find(subscriber)
            if index is None and (existing_only or not adding):
                result.fail("notFound", subscriber)
                continue
            if index is None:
                index = self._create(subscriber)
            (members.add if adding else members.discard)(index)
            result.success += 1
        return JSONResponse(result.body())

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/api/lists")
        def get_lists() -> dict[str, Any]:
            return {
                "lists": [
                    {"id": i, "name": name, "createdAt": 1_700_000_000_000, "listType": "Standard"}
                    for i, (name, _) in self.lists.items()
                ]
            }

        @app.post("/api/lists")
        async def create_list(request: Request) -> Response:
            name = str((await self.json_body(request) or {}).get("name") or "")
            if not name:
                return iterable_error(400, "BadParams", "name is required")
            list_id = next(self._ids)
            self.lists[list_id] = (name, set())
            return JSONResponse({"listId": list_id})

        @app.post("/api/lists/subscribe")
        async def subscribe(request: Request) -> Response:
            return self._membership(await self.json_body(request) or {}, adding=True)

        @app.post("/api/lists/unsubscribe")
        async def unsubscribe(request: Request) -> Response:
            return self._membership(await self.json_body(request) or {}, adding=False)

        @app.get("/api/lists/getUsers")
        def get_users(listId: int, preferUserId: bool = False) -> Response:  # noqa: N803 - vendor names
            if listId not in self.lists:
                return iterable_error(400, "BadParams", f"List {listId} does not exist")
            users = [self.users[i] for i in sorted(self.lists[listId][1])]
            lines = [(u.user_id if preferUserId else u.email) or "" for u in users]
            return PlainTextResponse("\n".join(line for line in lines if line) + "\n")

        @app.post("/api/users/bulkUpdate")
        async def bulk_update(request: Request) -> Response:
            users = (await self.json_body(request) or {}).get("users") or []
            if len(users) > BULK_LIMIT:
                self.violation(f"{len(users)} users in one bulkUpdate")
                return iterable_error(400, "BadParams", f"At most {BULK_LIMIT} users per request")
            return JSONResponse(self._bulk_update(users))

        @app.delete("/api/users/byUserId/{user_id}")
        def delete_by_user_id(user_id: str) -> Response:
            return self._delete({"userId": user_id, "preferUserId": True})

        @app.delete("/api/users/{email}")
        def delete_by_email(email: str) -> Response:
            return self._delete({"email": email})

    def _delete(self, subscriber: dict[str, Any]) -> Response:
        index = self.find(subscriber)
        if index is None:
            return iterable_error(400, "BadParams", "User does not exist")
        gone = self.users[index]
        self._by_email.pop((gone.email or "").lower(), None)
        self._by_user_id.pop(gone.user_id or "", None)
        self.users[index] = User(None, None)  # keep indexes stable; the user is gone
        for _, members in self.lists.values():
            members.discard(index)
        return JSONResponse({"msg": "", "code": "Success", "params": None})

    def state(self) -> dict[str, Any]:
        return {
            "users": sum(1 for u in self.users if u.email or u.user_id),
            "lists": [{"id": i, "name": n, "users": len(m)} for i, (n, m) in self.lists.items()],
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for email in identifiers:
            if email.lower() not in self._by_email:
                self._add(User(email, f"ext-{email.split('@')[0]}"))

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {"api_key": self.api_key if valid else "wrong-key", "base_url": f"{base_url.rstrip('/')}/api"}

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="list", name="Sluice conformance")

    def _identifier(self, user: User, target: Target) -> str | None:
        return user.user_id if target.identifier_kind is IdentifierKind.EXTERNAL_ID else user.email

    def members(self, target: Target) -> set[str]:
        users = [self.users[i] for i in self.lists[int(target.id)][1]]
        return {i for u in users if (i := self._identifier(u, target))}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        wanted = set(identifiers)
        for index, user in enumerate(self.users):
            if self._identifier(user, target) in wanted:
                self.lists[int(target.id)][1].add(index)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.lists[next(self._ids)] = (name, set())

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"firstName": f"Ann{number}v{version}", "loyaltyPoints": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        return {i: dict(u.data_fields) for u in self.users if (i := self._identifier(u, target))}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"loyaltyPoints": "lots"}, "invalidData"
