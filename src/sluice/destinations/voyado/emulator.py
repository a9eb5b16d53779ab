"""A local fake of Voyado Engage (the documented contact endpoints + the configurable label API).

Documented behaviour: ``apikey`` header auth, ``GET /api/v2/contacts/count`` (a bare integer),
``GET /api/v3/contacts/id?email=`` answering a *quoted* contact id, 400 ``InvalidEmailAddress``,
404 ``ContactNotFound``, 409 ``MultipleMatches`` (ids in ``messageDetails.multipleMatchesFound``),
``PATCH /api/v3/contacts/{id}`` updating only the fields sent, and 429 without rate headers
above 200 requests per second per key. The label paths (``/api/v3/labels``,
``/api/v3/contacts/{id}/labels[/{labelId}]``) and the JSON error envelope are **not** publicly
documented: they follow the defaults of :class:`~sluice.destinations.voyado.config.VoyadoLabelApi`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec
from sluice.sync.validate import EMAIL_PATTERN

API_KEY = "emulator-voyado-key"
REQUESTS_PER_SECOND = 200
BULK_LIMIT = 4000  # cap of the bulk contact endpoints; the per-contact endpoints take one contact


@dataclass
class Contact:
    id: str
    email: str
    preferences: dict[str, bool] = field(default_factory=lambda: {"acceptsEmail": False, "acceptsSms": False})
    labels: set[str] = field(default_factory=set)


class VoyadoError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        self.status, self.code, self.message, self.details = status, code, message, details


def error(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    body: dict[str, Any] = {"statusCode": status, "errorCode": code, "message": message}
    if details:
        body["messageDetails"] = details
    return JSONResponse(body, status_code=status)


class VoyadoEmulator(Emulator):
    """One Engage tenant with contacts, labels and email/SMS preferences."""

    name = "voyado"
    batch_limit = BULK_LIMIT
    unknown_contact_message = "ContactNotFound"

    def __init__(self, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.contacts: dict[str, Contact] = {}
        self.labels: dict[str, str] = {}
        self._second = -1
        self._in_second = 0
        super().__init__(**kwargs)

    def rate_limited(self) -> Response:
        return error(429, "TooManyRequests", "Too many requests")

    def server_error(self) -> Response:
        return error(500, "InternalServerError", "An error has occurred.")

    async def gate(self, request: Request) -> Response | None:
        second = int(self.clock())
        if second != self._second:
            self._second, self._in_second = second, 0
        self._in_second += 1
        if self._in_second > REQUESTS_PER_SECOND:
            return self.rate_limited()
        if request.headers.get("apikey") != self.api_key:
            return error(401, "Unauthorized", "Authorization has been denied for this request.")
        return None

    def _contact(self, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id.lower())
        if contact is None:
            raise VoyadoError(404, "ContactNotFound", "Contact not found")
        return contact

    def _contact_json(self, contact: Contact) -> dict[str, Any]:
        return {
            "id": contact.id,
            "attributes": {"email": contact.email},
            "preferences": dict(contact.preferences),
            "labels": sorted(contact.labels),
        }

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(VoyadoError)
        async def _error(_: Request, exc: VoyadoError) -> JSONResponse:
            return error(exc.status, exc.code, exc.message, **exc.details)

        @app.get("/api/v2/contacts/count")
        def count() -> int:
            return len(self.contacts)

        @app.get("/api/v3/contacts/id")
        def find_contact(request: Request) -> Response:
            email = request.query_params.get("email")
            if email is None:
                raise VoyadoError(400, "InvalidSearchQuery", "No search parameter given")
            if not re.fullmatch(EMAIL_PATTERN, email):
                raise VoyadoError(400, "InvalidEmailAddress", "Invalid email address")
            hits = [c.id for c in self.contacts.values() if c.email.lower() == email.lower()]
            if not hits:
                raise VoyadoError(404, "ContactNotFound", "Contact not found")
            if len(hits) > 1:
                raise VoyadoError(
                    409, "MultipleMatches", "Multiple contacts found", multipleMatchesFound=hits
                )
            return JSONResponse(hits[0])  # a bare JSON string: "2e40b702-…"

        @app.get("/api/v3/contacts/{contact_id}")
        def get_contact(contact_id: str) -> dict[str, Any]:
            return self._contact_json(self._contact(contact_id))

        @app.patch("/api/v3/contacts/{contact_id}")
        async def patch_contact(contact_id: str, request: Request) -> dict[str, Any]:
            contact = self._contact(contact_id)
            body = await self.json_body(request)
            for key, value in (body.get("preferences") or {}).items():
                if key in contact.preferences:
                    if value is None:
                        raise VoyadoError(400, "InvalidPreference", f"{key} cannot be empty")
                    contact.preferences[key] = bool(value)
            return self._contact_json(contact)

        @app.get("/api/v3/labels")
        def labels() -> list[dict[str, str]]:
            return [{"id": label_id, "name": name} for label_id, name in self.labels.items()]

        @app.post("/api/v3/contacts/{contact_id}/labels")
        async def assign(contact_id: str, request: Request) -> dict[str, Any]:
            contact = self._contact(contact_id)
            label_id = str((await self.json_body(request)).get("labelId"))
            if label_id not in self.labels:
                raise VoyadoError(404, "LabelNotFound", "Label not found")
            contact.labels.add(label_id)
            return self._contact_json(contact)

        @app.delete("/api/v3/contacts/{contact_id}/labels/{label_id}", status_code=204)
        def unassign(contact_id: str, label_id: str) -> Response:
            self._contact(contact_id).labels.discard(label_id)
            return Response(status_code=204)

    def state(self) -> dict[str, Any]:
        return {
            "contacts": len(self.contacts),
            "labels": [
                {"id": i, "name": n, "contacts": sum(i in c.labels for c in self.contacts.values())}
                for i, n in self.labels.items()
            ],
            "accepts_email": sum(c.preferences["acceptsEmail"] for c in self.contacts.values()),
            "accepts_sms": sum(c.preferences["acceptsSms"] for c in self.contacts.values()),
        }

    # -- helpers for tests and the demo -----------------------------------------------------------

    def add_label(self, name: str) -> str:
        for label_id, existing in self.labels.items():
            if existing == name:
                return label_id
        label_id = str(uuid.uuid4())
        self.labels[label_id] = name
        return label_id

    def contact_id_of(self, email: str) -> str:
        return next(c.id for c in self.contacts.values() if c.email.lower() == email.lower())

    def add_duplicate(self, email: str) -> None:
        """A second contact with the same email (lookups by email then answer 409)."""
        contact_id = str(uuid.uuid4())
        self.contacts[contact_id] = Contact(contact_id, email)

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        known = {c.email.lower() for c in self.contacts.values()}
        for email in identifiers:
            if email.lower() not in known:
                contact_id = str(uuid.uuid4())
                self.contacts[contact_id] = Contact(contact_id, email)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "tenant": "emulator",
            "api_key": self.api_key if valid else "wrong-key",
            "base_url": base_url,
            "requests_per_second": 200,
        }

    def target_spec(self) -> TargetSpec:
        self.add_label("Sluice conformance")
        return TargetSpec(kind="label", name="Sluice conformance")

    def _identifier(self, contact: Contact, target: Target) -> str:
        return contact.id if target.identifier_kind is IdentifierKind.PLATFORM_ID else contact.email

    def members(self, target: Target) -> set[str]:
        if target.kind == "consent":
            return {self._identifier(c, target) for c in self.contacts.values() if c.preferences[target.id]}
        return {self._identifier(c, target) for c in self.contacts.values() if target.id in c.labels}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        wanted = set(identifiers)
        for contact in self.contacts.values():
            if self._identifier(contact, target) in wanted:
                contact.labels.add(target.id)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.add_label(name)
