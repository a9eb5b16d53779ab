"""A local fake of the Splio Customer Platform API (the parts Sluice uses; see README.md).

Faithful to: ``POST /authenticate {"api_key"}`` → ``{"token"}`` (400 ``authentication.failed`` for a wrong key) and
a JWT valid one hour, 401 with the bare string ``"Authentication failed."`` without a valid token;
errors ``{"status", "errors": [{"error_key", "error", "error_description"}]}``; contacts by unique
key (email): ``POST /data/contacts/bulk`` (≤ 1,000, 207 with ``items[{contact_id, code,
description}]``, "Contact with unique key … already exists"), ``PATCH /data/contacts/{key}``,
``GET /data/contacts/{key}``, ``GET /universes/unique-key``, custom fields typed by the universe (400 ``wrong_type``);
``POST /data/contacts/{key}/lists/subscribe|unsubscribe`` (404 for an unknown contact);
``GET /data/v1/lists`` and ``GET /target/groups/list`` paged by ``per_page`` (≤ 1,000) /
``page_number`` with ``count_element``; ``POST /target/groups`` (≤ 10,000 keys),
``/target/groups/{id}/add|remove`` (≤ 10,000 keys, ``keys_not_found``) and ``/clear``; rate windows
per second and per client (20 on data/contacts, 10 elsewhere) reported in ``rateLimit-limit``,
``rateLimit-remaining``, ``rateLimit-reset`` (seconds), 429 ``{"message": "API rate limit exceeded"}``.
"""

from __future__ import annotations

import itertools
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator, local_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

API_KEY = "emulator-splio-universe-key"
TOKEN_SECONDS = 3600.0
BULK_LIMIT = 1000
KEYS_LIMIT = 10_000
PAGE_MAX = 1000
CONTACTS_PER_SECOND = 20
OTHERS_PER_SECOND = 10
#: the universe's contact custom fields: name → data type
CUSTOM_FIELDS = {
    "civility": "string",
    "loyalty_points": "integer",
    "first_purchase": "date",
    "nickname": "string",
}
STANDARD = ("firstname", "lastname", "cellphone", "language")
DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?")
NOT_FOUND = "Contact not found for given identifier."


def problem(status: int, key: str, error: str, description: str) -> JSONResponse:
    """Splio's error envelope."""
    return JSONResponse(
        {"status": status, "errors": [{"error_key": key, "error": error, "error_description": description}]},
        status,
    )


class Invalid(ValueError):
    """A contact value Splio refuses (error key, error, description)."""

    def __init__(self, key: str, error: str, description: str) -> None:
        super().__init__(description)
        self.key, self.error, self.description = key, error, description


@dataclass
class SplioContact:
    id: int
    email: str
    fields: dict[str, str] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    lists: set[int] = field(default_factory=set)


@dataclass
class SplioGroup:
    id: int
    name: str
    description: str = ""
    source: str = ""
    keys: set[str] = field(default_factory=set)


class SplioEmulator(Emulator):
    """One Splio universe."""

    name = "splio"
    identifier_kind = IdentifierKind.EMAIL
    batch_limit = BULK_LIMIT
    unknown_contact_message = "keys_not_found"
    upsert_specs = (TargetSpec(kind="contacts", identifier_kind=IdentifierKind.EMAIL),)

    def __init__(self, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.tokens: dict[str, float] = {}  # token → expiry
        self.contacts: dict[str, SplioContact] = {}  # unique key (lower-case email) → contact
        self.groups: dict[int, SplioGroup] = {}
        self.lists: dict[int, str] = {1: "Newsletter", 2: "Offers"}
        self.unique_key = "email"  # "email", "cellphone" or a custom field ("c0", …)
        self._ids = itertools.count(1)
        self._group_ids = itertools.count(100)
        self._windows: dict[str, tuple[int, int]] = {}  # category → (second, used)
        self._last_category = "others"
        super().__init__(**kwargs)

    # -- rate windows, auth ----------------------------------------------------------------------

    def _window(self, category: str) -> tuple[int, int, float]:
        """(limit, remaining, seconds to reset) of the current one-second window."""
        limit = CONTACTS_PER_SECOND if category == "contacts" else OTHERS_PER_SECOND
        second = math.floor(self.clock())
        started, used = self._windows.get(category, (second, 0))
        if started != second:
            used = 0
        self._windows[category] = (second, used)
        return limit, max(limit - used, 0), max(second + 1 - self.clock(), 0.001)

    def response_headers(self) -> dict[str, str]:
        limit, remaining, reset = self._window(self._last_category)
        return {
            "rateLimit-limit": str(limit),
            "rateLimit-remaining": str(remaining),
            "rateLimit-reset": f"{reset:.3f}",
        }

    def rate_limited(self) -> Response:
        limit, _, _ = self._window(self._last_category)
        self._windows[self._last_category] = (math.floor(self.clock()), limit)
        return JSONResponse({"message": "API rate limit exceeded"}, 429, headers=self.response_headers())

    def server_error(self) -> Response:
        return problem(500, "server", "internal_error", "An internal error occurred.")

    async def gate(self, request: Request) -> Response | None:
        path = local_path(request)
        self._last_category = "contacts" if path.startswith("/data/contacts") else "others"
        _, remaining, _ = self._window(self._last_category)
        if remaining <= 0:
            return self.rate_limited()
        second, used = self._windows[self._last_category]
        self._windows[self._last_category] = (second, used + 1)
        if path == "/authenticate":
            return None
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0.0) <= self.clock():
            return JSONResponse("Authentication failed.", 401)
        return None

    # -- contacts ----------------------------------------------------------------------------------

    def find(self, key: str) -> SplioContact | None:
        return self.contacts.get(key.strip().lower())

    @staticmethod
    def _typed(name: str, value: Any) -> Any:
        kind = CUSTOM_FIELDS.get(name)
        if kind is None:
            raise Invalid(
                "custom_fields", "wrong_value", f"Custom field {name} does not exist in this universe."
            )
        if value in ("", None):
            return ""
        text = str(value)
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", text):
                raise Invalid("custom_fields", "wrong_type", f"Custom field {name} expects an integer.")
            return int(text)
        if kind == "date" and not DATE_FORMAT.fullmatch(text):
            raise Invalid(
                "custom_fields", "wrong_type", f"Custom field {name} expects a date YYYY-MM-DD HH:MM:SS."
            )
        return text

    def _changes(self, body: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        """Validated standard and custom field values of a contact body."""
        standard = {name: str(body[name]) for name in STANDARD if name in body}
        custom: dict[str, Any] = {}
        for item in body.get("custom_fields") or []:
            if not isinstance(item, dict):
                raise Invalid("custom_fields", "wrong_value", "Custom fields must be objects.")
            name = item.get("name")
            if name is None and "id" in item:
                names = list(CUSTOM_FIELDS)
                name = names[int(item["id"])] if 0 <= int(item["id"]) < len(names) else f"#{item['id']}"
            custom[str(name)] = self._typed(str(name), item.get("value"))
        return standard, custom

    def _create(self, body: Any) -> SplioContact:
        if not isinstance(body, dict) or not str(body.get("email") or "").strip():
            raise Invalid("email", "is_blank", "The unique key (email) is missing.")
        email = str(body["email"]).strip()
        if "@" not in email:
            raise Invalid("email", "wrong_email", f"{email} is not a valid email address.")
        if self.find(email) is not None:
            raise Invalid("email", "already_exists", f"Contact with unique key {email} already exists")
        standard, custom = self._changes(body)
        contact = SplioContact(next(self._ids), email, standard, custom)
        self.contacts[email.lower()] = contact
        return contact

    def _view(self, contact: SplioContact) -> dict[str, Any]:
        names = list(CUSTOM_FIELDS)
        return {
            "id": contact.id,
            "email": contact.email,
            **{name: contact.fields.get(name, "") for name in STANDARD},
            "custom_fields": [
                {"id": names.index(n), "name": n, "value": v, "data_type": CUSTOM_FIELDS[n]}
                for n, v in contact.custom.items()
            ],
            "lists": [{"id": i, "name": self.lists[i]} for i in sorted(contact.lists)],
        }

    def _paged(self, request: Request, elements: list[dict[str, Any]]) -> dict[str, Any]:
        per_page = self.page_size(int(request.query_params.get("per_page", 20)), PAGE_MAX)
        page = max(int(request.query_params.get("page_number", 1)), 1)
        chunk = elements[(page - 1) * per_page : page * per_page]
        return {"count_element": len(elements), "current_page": page, "per_page": per_page, "elements": chunk}

    # -- routes ------------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/authenticate")
        async def authenticate(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            key = body.get("api_key") if isinstance(body, dict) else None
            if not key:
                return problem(400, "api_key", "is_blank", "Api key is missing.")
            if key != self.api_key:
                return problem(400, "username", "authentication.failed", "User authentication failed.")
            token = f"eyJhbGciOiJIUzI1NiJ9.{uuid.uuid4().hex}.{uuid.uuid4().hex[:16]}"
            self.tokens[token] = self.clock() + TOKEN_SECONDS
            return JSONResponse({"token": token})

        @app.get("/data/fields/contacts")
        async def contact_fields() -> JSONResponse:
            elements = [
                {"intid": None, "id": 0, "is_system": True, "name": "ext_id", "field_key": "ext_id"},
                *(
                    {"intid": i, "id": i, "is_system": False, "name": n, "field_key": n, "data_type": t}
                    for i, (n, t) in enumerate(CUSTOM_FIELDS.items(), start=1)
                ),
            ]
            return JSONResponse(
                {"count_element": len(elements), "current_page": 1, "per_page": 100, "elements": elements}
            )

        @app.get("/universes/unique-key")
        async def unique_key() -> JSONResponse:
            return JSONResponse({"unique_key": self.unique_key})

        @app.post("/data/contacts/bulk")
        async def bulk_create(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            contacts = body.get("contacts") if isinstance(body, dict) else None
            if not isinstance(contacts, list) or not contacts:
                return problem(400, "contacts", "is_blank", "contacts must be a non-empty array.")
            if len(contacts) > BULK_LIMIT:
                self.violation(f"{len(contacts)} contacts in one bulk create")
                return problem(400, "contacts", "too_many", f"At most {BULK_LIMIT} contacts per call.")
            items, errors = [], 0
            for contact in contacts:
                key = str(contact.get("email", "")) if isinstance(contact, dict) else ""
                try:
                    self._create(contact)
                    items.append({"contact_id": key, "code": 201, "description": ""})
                except Invalid as refused:
                    errors += 1
                    items.append({"contact_id": key, "code": 400, "description": refused.description})
            return JSONResponse({"time": 12, "errors": errors, "items": items}, 207)

        @app.get("/data/contacts/{key}")
        async def get_contact(key: str) -> JSONResponse:
            contact = self.find(key)
            if contact is None:
                return problem(404, "id", "wrong_value", NOT_FOUND)
            return JSONResponse(self._view(contact))

        @app.patch("/data/contacts/{key}")
        async def edit_contact(key: str, request: Request) -> JSONResponse:
            contact = self.find(key)
            if contact is None:
                return problem(404, "id", "wrong_value", NOT_FOUND)
            body = await self.json_body(request)
            if not isinstance(body, dict):
                return problem(400, "payload", "invalid_json", "The payload is not valid JSON.")
            if "email" in body and str(body["email"]).lower() != contact.email.lower():
                return problem(400, "email", "wrong_value", "The unique key cannot be modified.")
            try:
                standard, custom = self._changes(body)
            except Invalid as refused:
                return problem(400, refused.key, refused.error, refused.description)
            contact.fields.update(standard)
            contact.custom.update(custom)
            if "lists" in body:  # replaces every membership (documented)
                contact.lists = {int(item["id"]) for item in body["lists"] if int(item["id"]) in self.lists}
            return JSONResponse(self._view(contact))

        @app.post("/data/contacts/{key}/lists/{verb}")
        async def subscription(key: str, verb: str, request: Request) -> JSONResponse:
            if verb not in ("subscribe", "unsubscribe"):
                return problem(404, "path", "not_found", "Route not found.")
            contact = self.find(key)
            if contact is None:
                return problem(404, "id", "wrong_value", NOT_FOUND)
            body = await self.json_body(request)
            ids = body.get("list_ids") if isinstance(body, dict) else None
            if not isinstance(ids, list) or not ids or any(int(i) not in self.lists for i in ids):
                return problem(400, "list_ids", "wrong_value", "Unknown list id.")
            if verb == "subscribe":
                contact.lists.update(int(i) for i in ids)
            else:
                contact.lists.difference_update(int(i) for i in ids)
            return JSONResponse(self._view(contact))

        @app.get("/data/v1/lists")
        async def lists(request: Request) -> dict[str, Any]:
            members = {i: sum(1 for c in self.contacts.values() if i in c.lists) for i in self.lists}
            elements = [
                {"id": i, "name": n, "members": members[i], "nb_emails": members[i], "nb_sms": 0}
                for i, n in sorted(self.lists.items())
            ]
            return self._paged(request, elements)

        @app.get("/target/groups/list")
        async def groups(request: Request) -> dict[str, Any]:
            elements = [
                {
                    "intid": g.id,
                    "id": g.id,
                    "name": g.name,
                    "tags": [],
                    "status": "active",
                    "nb_emails": len(g.keys),
                }
                for g in sorted(self.groups.values(), key=lambda g: g.id)
            ]
            return self._paged(request, elements)

        @app.post("/target/groups")
        async def create_group(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            if not isinstance(body, dict) or not str(body.get("name") or "").strip():
                return problem(400, "name", "is_blank", "The group name is missing.")
            keys = [str(k) for k in body.get("keys") or []]
            if len(keys) > KEYS_LIMIT:
                self.violation(f"{len(keys)} keys in one group creation")
                return problem(400, "keys", "too_many", f"At most {KEYS_LIMIT} keys per call.")
            group = SplioGroup(next(self._group_ids), str(body["name"]), str(body.get("description") or ""))
            group.source = str(body.get("source") or "")
            missing = [k for k in keys if self.find(k) is None]
            group.keys.update(k.lower() for k in keys if self.find(k) is not None)
            self.groups[group.id] = group
            view = {
                "id": group.id,
                "name": group.name,
                "description": group.description,
                "members": len(group.keys),
            }
            return JSONResponse({"group": {**view, "source": group.source}, "keys_not_found": missing}, 201)

        @app.post("/target/groups/{group_id}/{verb}")
        async def group_members(group_id: int, verb: str, request: Request) -> JSONResponse:
            group = self.groups.get(group_id)
            if group is None or verb not in ("add", "remove", "clear"):
                return problem(404, "id", "wrong_value", "Group not found for given identifier.")
            if verb == "clear":
                group.keys.clear()
                return JSONResponse([])
            body = await self.json_body(request)
            keys = [str(k) for k in (body.get("keys") if isinstance(body, dict) else None) or []]
            if not keys:
                return problem(400, "keys", "is_blank", "keys must hold between 1 and 10000 items.")
            if len(keys) > KEYS_LIMIT:
                self.violation(f"{len(keys)} keys in one group {verb}")
                return problem(400, "keys", "too_many", f"At most {KEYS_LIMIT} keys per call.")
            missing = [k for k in keys if self.find(k) is None]
            known = {k.lower() for k in keys if self.find(k) is not None}
            before = len(group.keys)
            if verb == "add":
                group.keys.update(known)
            else:
                group.keys.difference_update(known)
            counted = "nb_inserted_contacts" if verb == "add" else "nb_removed_contacts"
            return JSONResponse(
                {
                    "group_id": group.id,
                    "nb_total_contacts": len(group.keys),
                    counted: abs(len(group.keys) - before),
                    "keys_not_found": missing,
                }
            )

    def state(self) -> dict[str, Any]:
        return {
            "contacts": len(self.contacts),
            "groups": {g.name: len(g.keys) for g in self.groups.values()},
            "lists": {
                n: sum(1 for c in self.contacts.values() if i in c.lists) for i, n in self.lists.items()
            },
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            if self.find(identifier) is None:
                self.contacts[identifier.lower()] = SplioContact(next(self._ids), identifier)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {"api_key": self.api_key if valid else "wrong-key", "base_url": base_url.rstrip("/")}

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="group", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        if target.kind == "list":
            return {c.email for c in self.contacts.values() if int(target.id) in c.lists}
        group = self.groups.get(int(target.id))
        return {self.contacts[k].email for k in group.keys} if group else set()

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            contact = self.find(identifier)
            if contact is None:
                continue
            if target.kind == "list":
                contact.lists.add(int(target.id))
            else:
                self.groups[int(target.id)].keys.add(identifier.lower())

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            if spec.kind == "list":
                self.lists[max(self.lists, default=0) + 1] = name
            else:
                group = SplioGroup(next(self._group_ids), name)
                self.groups[group.id] = group

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"firstname": f"Ann{number}v{version}", "loyalty_points": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        return {c.email: {**c.fields, **c.custom} for c in self.contacts.values()}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"loyalty_points": "lots"}, "expects an integer"

    def contact_view(self, key: str) -> dict[str, Any] | None:
        """The contact as ``GET /data/contacts/{key}`` shows it (tests)."""
        contact = self.find(key)
        return self._view(contact) if contact else None

    @staticmethod
    def parse_date(text: str) -> datetime:
        """A Splio date value (tests)."""
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
