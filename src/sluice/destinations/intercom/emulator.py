"""A local fake of the Intercom REST API 2.14 (the parts Sluice uses).

Faithful to: ``Authorization: Bearer`` (401 ``unauthorized`` "Access Token Invalid"), the
``error.list`` envelope, 10-second rate windows reported in ``X-RateLimit-Limit/Remaining/Reset``
on every response and a 429 with the same headers when spent, contacts with ``id``/``email``/
``external_id``/``role``, the search DSL subset Sluice uses (``= != IN NIN`` on email,
external_id, id, role, tag_id, segment_id; AND/OR ≤ 2 levels, ≤ 15 filters per group) with
``starting_after`` cursors (≤ 150 per page), tags created or returned by name (case-insensitive),
bulk tagging that rejects the whole request on an unknown user, and single untag; contact
create/update/delete (409 on an existing or archived match), company create-or-update by
``company_id`` and data attributes (see :mod:`.emulator_records`).
"""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.intercom.emulator_model import Contact, IntercomError, error_list
from sluice.destinations.intercom.emulator_records import CONTACT_STANDARD, RecordRoutes
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

TOKEN = "emulator-intercom-token"  # noqa: S105 - the emulator's fixed fake credential
WINDOW_SECONDS = 10.0
MAX_PER_PAGE = 150
BULK_TAG_LIMIT = 100  # Intercom documents no cap for users[]; the emulator enforces this one [I]


class IntercomEmulator(RecordRoutes, Emulator):
    """One Intercom workspace; ``limit_per_window`` calls per 10 s per token."""

    name = "intercom"
    batch_limit = BULK_TAG_LIMIT
    unknown_contact_message = "User Not Found"

    def __init__(self, *, limit_per_window: int = 167, **kwargs: Any) -> None:
        self.token = TOKEN
        self.contacts: dict[str, Contact] = {}
        self.tags: dict[str, str] = {}  # id → name
        self.segments: dict[str, tuple[str, set[str]]] = {}  # id → (name, contact ids)
        self.limit_per_window = limit_per_window
        self._window_start = 0.0
        self._window_used = 0
        self._ids = itertools.count(7_522_907)
        super().__init__(**kwargs)
        self.init_records()

    # -- rate windows and errors ------------------------------------------------------------

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        if now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._window_used = now, 0
        return max(self.limit_per_window - self._window_used, 0), self._window_start + WINDOW_SECONDS

    def _rate_headers(self) -> dict[str, str]:
        remaining, reset = self._window()
        return {
            "X-RateLimit-Limit": str(self.limit_per_window),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(reset + 0.999)),
            "Intercom-Version": "2.14",
        }

    def rate_limited(self) -> Response:
        response = error_list(
            429, "rate_limit_exceeded", "You have exceeded the rate limit. Please try again later."
        )
        self._window()
        self._window_used = self.limit_per_window
        response.headers.update(self._rate_headers())
        return response

    def server_error(self) -> Response:
        return error_list(500, "server_error", "Server Error")

    async def gate(self, request: Request) -> Response | None:
        remaining, _ = self._window()
        if remaining <= 0:
            return self.rate_limited()
        self._window_used += 1
        if request.headers.get("authorization") != f"Bearer {self.token}":
            response = error_list(401, "unauthorized", "Access Token Invalid")
            response.headers.update(self._rate_headers())
            return response
        return None

    def response_headers(self) -> dict[str, str]:
        return self._rate_headers()

    # -- data helpers ----------------------------------------------------------------------------

    def _contact_json(self, contact: Contact) -> dict[str, Any]:
        standard = {k: v for k, v in contact.attributes.items() if k in CONTACT_STANDARD}
        custom = {k: v for k, v in contact.attributes.items() if k not in CONTACT_STANDARD}
        return {
            **standard,
            "custom_attributes": custom,
            "type": "contact",
            "id": contact.id,
            "workspace_id": "emulator",
            "external_id": contact.external_id,
            "role": contact.role,
            "email": contact.email,
            "tags": {"type": "list", "data": [{"type": "tag", "id": t} for t in sorted(contact.tags)]},
        }

    def _tag_json(self, tag_id: str, applied: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "tag", "id": tag_id, "name": self.tags[tag_id]}
        if applied:
            body["applied_at"] = int(time.time())
            body["applied_by"] = {"type": "admin", "id": "991267"}
        return body

    def _matches(self, contact: Contact, query: dict[str, Any], depth: int = 1) -> bool:
        operator = query.get("operator")
        if operator in ("AND", "OR"):
            parts = query.get("value") or []
            if depth > 2 or len(parts) > 15:
                raise IntercomError(400, "parameter_invalid", "Search query is too complex")
            results = [self._matches(contact, part, depth + 1) for part in parts]
            return all(results) if operator == "AND" else any(results)
        name, value = query.get("field"), query.get("value")
        actual: Any
        if name == "tag_id":
            actual = contact.tags
        elif name == "segment_id":
            actual = {s for s, (_, members) in self.segments.items() if contact.id in members}
        elif name in ("email", "external_id", "id", "role"):
            actual = getattr(contact, str(name))
        else:
            raise IntercomError(400, "parameter_invalid", f"Unsupported field {name}")
        if isinstance(actual, set):
            hit = str(value) in actual
            return hit if operator == "=" else not hit if operator == "!=" else False
        text = (actual or "").lower() if name == "email" else actual
        values = [
            v.lower() if name == "email" and isinstance(v, str) else v
            for v in (value if isinstance(value, list) else [value])
        ]
        if operator == "=":
            return text == values[0]
        if operator == "!=":
            return text != values[0]
        if operator == "IN":
            return text in values
        if operator == "NIN":
            return text not in values
        raise IntercomError(400, "parameter_invalid", f"Unsupported operator {operator}")

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        self.add_record_routes(app)

        @app.exception_handler(IntercomError)
        async def _error(request: Request, exc: IntercomError) -> JSONResponse:
            response = error_list(exc.status, exc.code, exc.message)
            response.headers.update(self._rate_headers())
            return response

        @app.get("/me")
        def me() -> dict[str, Any]:
            return {
                "type": "admin",
                "id": "991267",
                "name": "Sluice emulator",
                "app": {"name": "Sluice demo"},
            }

        @app.post("/contacts/search")
        async def search(request: Request) -> dict[str, Any]:
            body = await self.json_body(request)
            query = body.get("query")
            if not isinstance(query, dict):
                raise IntercomError(400, "parameter_invalid", "query is required")
            paging = body.get("pagination") or {}
            per_page = self.page_size(int(paging.get("per_page") or 50), MAX_PER_PAGE)
            start = _decode_cursor(paging.get("starting_after"))
            hits = [c for c in self.contacts.values() if not c.archived and self._matches(c, query)]
            page = hits[start : start + per_page]
            pages: dict[str, Any] = {
                "type": "pages",
                "page": start // per_page + 1,
                "per_page": per_page,
                "total_pages": max((len(hits) + per_page - 1) // per_page, 1),
            }
            if start + per_page < len(hits):
                pages["next"] = {"per_page": per_page, "starting_after": _encode_cursor(start + per_page)}
            return {
                "type": "list",
                "data": [self._contact_json(c) for c in page],
                "total_count": len(hits),
                "pages": pages,
            }

        @app.get("/tags")
        def list_tags() -> dict[str, Any]:
            return {"type": "list", "data": [self._tag_json(t) for t in self.tags]}

        @app.get("/tags/{tag_id}")
        def get_tag(tag_id: str) -> dict[str, Any]:
            if tag_id not in self.tags:
                raise IntercomError(404, "not_found", "Resource Not Found")
            return self._tag_json(tag_id)

        @app.post("/tags")
        async def create_or_tag(request: Request) -> dict[str, Any]:
            body = await self.json_body(request)
            name = str(body.get("name") or "")
            if not name:
                raise IntercomError(400, "parameter_invalid", "Name is required")
            if body.get("id"):
                if str(body["id"]) not in self.tags:
                    raise IntercomError(404, "not_found", "Resource Not Found")
                self.tags[str(body["id"])] = name
                return self._tag_json(str(body["id"]))
            users = body.get("users")
            if users is not None:
                if len(users) > BULK_TAG_LIMIT:
                    self.violation(f"bulk tag of {len(users)} users")
                    raise IntercomError(
                        400, "parameter_invalid", f"users must contain at most {BULK_TAG_LIMIT} items"
                    )
                if any(str(u.get("id")) not in self.contacts for u in users):
                    raise IntercomError(404, "not_found", "User Not Found")
            tag_id = self._tag_by_name(name)
            for user in users or []:
                self.contacts[str(user["id"])].tags.add(tag_id)
            return self._tag_json(tag_id)

        @app.post("/contacts/{contact_id}/tags")
        async def attach(contact_id: str, request: Request) -> dict[str, Any]:
            tag_id = str((await self.json_body(request)).get("id"))
            contact = self.contacts.get(contact_id)
            if contact is None:
                raise IntercomError(404, "not_found", "User Not Found")
            if tag_id not in self.tags:
                raise IntercomError(404, "not_found", "Resource Not Found")
            contact.tags.add(tag_id)
            return self._tag_json(tag_id, applied=True)

        @app.delete("/contacts/{contact_id}/tags/{tag_id}")
        def detach(contact_id: str, tag_id: str) -> dict[str, Any]:
            contact = self.contacts.get(contact_id)
            if contact is None:
                raise IntercomError(404, "not_found", "User Not Found")
            if tag_id not in self.tags:
                raise IntercomError(404, "not_found", "Resource Not Found")
            contact.tags.discard(tag_id)
            return self._tag_json(tag_id)

        @app.get("/segments")
        def segments() -> dict[str, Any]:
            return {
                "type": "segment.list",
                "segments": [
                    {"type": "segment", "id": s, "name": name, "person_type": "user", "count": len(members)}
                    for s, (name, members) in self.segments.items()
                ],
            }

    def _tag_by_name(self, name: str) -> str:
        for tag_id, existing in self.tags.items():
            if existing.lower() == name.lower():
                return tag_id
        tag_id = str(next(self._ids))
        self.tags[tag_id] = name
        return tag_id

    def state(self) -> dict[str, Any]:
        return {
            "contacts": len(self.contacts),
            "tags": [
                {"id": t, "name": n, "contacts": sum(t in c.tags for c in self.contacts.values())}
                for t, n in self.tags.items()
            ],
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        known = {c.email for c in self.contacts.values()}
        for email in identifiers:
            if email not in known:
                contact_id = uuid.uuid4().hex[:24]
                self.contacts[contact_id] = Contact(
                    contact_id, email, external_id=f"ext-{email.split('@')[0]}"
                )

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {"access_token": self.token if valid else "wrong-token", "base_url": base_url}

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="tag", name="Sluice conformance")

    def _field(self, target: Target) -> str:
        return "external_id" if target.identifier_kind is IdentifierKind.EXTERNAL_ID else "email"

    def members(self, target: Target) -> set[str]:
        field_name = self._field(target)
        return {str(getattr(c, field_name)) for c in self.contacts.values() if target.id in c.tags}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        wanted = set(identifiers)
        field_name = self._field(target)
        for contact in self.contacts.values():
            if getattr(contact, field_name) in wanted:
                contact.tags.add(target.id)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self._tag_by_name(name)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1])
    except (ValueError, IndexError):
        raise IntercomError(400, "parameter_invalid", "starting_after is invalid") from None
