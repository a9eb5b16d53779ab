"""A local fake of the Brevo API v3 (the parts Sluice uses), served under ``/v3``.

Faithful to: the ``api-key`` header (401 ``unauthorized`` "Key not found"), ``{"code", "message"}``
errors, list add/remove of ≤ 150 emails / ext ids / ids answering 201 ``{"contacts": {"success",
"failure"}}`` (a failure = already in/out of the list or no such contact) and 400 "Contact already in
list and/or does not exist" when nothing succeeded, ``GET /contacts/{identifier}?identifierType=…``
(404 ``document_not_found``), ``limit``/``offset`` pages (lists ≤ 50, list contacts ≤ 500) with
``count``, lists created in a folder, contact imports that run asynchronously as a process
(``queued`` → ``in_process`` → ``completed`` over successive polls), and a fixed window reported in
``x-sib-ratelimit-limit/remaining/reset`` with a 429 when spent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

API_KEY = "xkeysib-emulator-0000"
LIST_LIMIT = 150
LISTS_PAGE = 50
MEMBERS_PAGE = 500
WINDOW_SECONDS = 1.0
NOT_FOUND = "Contact does not exist"


@dataclass
class Contact:
    id: int
    email: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    list_ids: set[int] = field(default_factory=set)


@dataclass
class BList:
    id: int
    name: str
    folder_id: int


@dataclass
class Process:
    id: int
    body: dict[str, Any]
    polls: int = 0
    status: str = "queued"


class BrevoProblem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status)


class BrevoEmulator(Emulator):
    """One Brevo account with folder 1; ``limit_per_window`` requests per second."""

    name = "brevo"
    batch_limit = LIST_LIMIT
    unknown_contact_message = NOT_FOUND
    upsert_specs = (TargetSpec(kind="contacts", identifier_kind=IdentifierKind.EMAIL),)

    def __init__(self, *, limit_per_window: int = 10, polls_to_complete: int = 2, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.contacts: dict[int, Contact] = {}
        self.lists: dict[int, BList] = {}
        self.processes: dict[int, Process] = {}
        self.limit_per_window = limit_per_window
        self.polls_to_complete = polls_to_complete
        self._window_start = 0.0
        self._window_used = 0
        self._ids = itertools.count(1)
        super().__init__(**kwargs)

    # -- rate window and errors ------------------------------------------------------------

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        if now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._window_used = now, 0
        return max(self.limit_per_window - self._window_used, 0), self._window_start + WINDOW_SECONDS - now

    def response_headers(self) -> dict[str, str]:
        remaining, reset = self._window()
        return {
            "x-sib-ratelimit-limit": str(self.limit_per_window),
            "x-sib-ratelimit-remaining": str(remaining),
            "x-sib-ratelimit-reset": f"{max(reset, 0.0):.3f}",
        }

    def rate_limited(self) -> Response:
        self._window()
        self._window_used = self.limit_per_window
        return JSONResponse(
            {"code": "too_many_requests", "message": "The expected rate limit is exceeded."},
            429,
            headers=self.response_headers(),
        )

    def server_error(self) -> Response:
        return error(500, "internal_error", "Internal server error")

    async def gate(self, request: Request) -> Response | None:
        remaining, _ = self._window()
        if remaining <= 0:
            return self.rate_limited()
        self._window_used += 1
        if request.headers.get("api-key") != self.api_key:
            return error(401, "unauthorized", "Key not found")
        return None

    # -- helpers -----------------------------------------------------------------------------

    def find(self, identifier: Any, kind: str = "email_id") -> Contact | None:
        if kind == "contact_id":
            return self.contacts.get(int(identifier)) if str(identifier).isdigit() else None
        for contact in self.contacts.values():
            if kind == "email_id" and contact.email and contact.email.lower() == str(identifier).lower():
                return contact
            if kind == "ext_id" and contact.attributes.get("EXT_ID") == str(identifier):
                return contact
        return None

    def _blist(self, list_id: str) -> BList:
        found = self.lists.get(int(list_id)) if list_id.isdigit() else None
        if found is None:
            raise BrevoProblem(404, "document_not_found", "List ID does not exist")
        return found

    def _contact_json(self, contact: Contact) -> dict[str, Any]:
        return {
            "id": contact.id,
            "email": contact.email,
            "emailBlacklisted": False,
            "smsBlacklisted": False,
            "attributes": contact.attributes,
            "listIds": sorted(contact.list_ids),
        }

    def _list_json(self, item: BList) -> dict[str, Any]:
        members = sum(1 for c in self.contacts.values() if item.id in c.list_ids)
        return {
            "id": item.id,
            "name": item.name,
            "folderId": item.folder_id,
            "totalSubscribers": members,
            "totalBlacklisted": 0,
            "uniqueSubscribers": members,
        }

    def _run_import(self, body: dict[str, Any]) -> None:
        empty = bool(body.get("emptyContactsAttributes"))
        for row in body.get("jsonBody") or []:
            email = str(row.get("email") or "")
            if "@" not in email:
                continue  # Brevo skips rows without a valid email (reported in its import report)
            contact = self.find(email)
            if contact is None:
                contact = Contact(next(self._ids), email)
                self.contacts[contact.id] = contact
            elif not body.get("updateExistingContacts", True):
                continue
            for name, value in (row.get("attributes") or {}).items():
                if value in ("", None):
                    if empty:
                        contact.attributes.pop(name.upper(), None)
                    continue
                contact.attributes[name.upper()] = value
            for list_id in body.get("listIds") or []:
                contact.list_ids.add(int(list_id))

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(BrevoProblem)
        async def _problem(_: Request, exc: BrevoProblem) -> JSONResponse:
            return error(exc.status, exc.code, exc.message)

        @app.get("/v3/account")
        async def account() -> dict[str, Any]:
            return {
                "email": "demo@sluice.example",
                "firstName": "Demo",
                "lastName": "Store",
                "companyName": "Sluice demo store",
                "plan": [{"type": "free", "credits": 300}],
            }

        @app.get("/v3/contacts/lists")
        async def lists(request: Request) -> dict[str, Any]:
            limit = self.page_size(int(request.query_params.get("limit", 10)), LISTS_PAGE)
            offset = int(request.query_params.get("offset", 0))
            every = sorted(self.lists.values(), key=lambda item: item.id)
            return {
                "lists": [self._list_json(i) for i in every[offset : offset + limit]],
                "count": len(every),
            }

        @app.post("/v3/contacts/lists", status_code=201)
        async def create_list(request: Request) -> dict[str, Any]:
            body = await self.json_body(request)
            if not body.get("name") or not isinstance(body.get("folderId"), int):
                raise BrevoProblem(400, "missing_parameter", "name and folderId are required")
            item = BList(next(self._ids), str(body["name"]), int(body["folderId"]))
            self.lists[item.id] = item
            return {"id": item.id}

        @app.get("/v3/contacts/lists/{list_id}")
        async def one_list(list_id: str) -> dict[str, Any]:
            return self._list_json(self._blist(list_id))

        @app.get("/v3/contacts/lists/{list_id}/contacts")
        async def list_contacts(list_id: str, request: Request) -> dict[str, Any]:
            item = self._blist(list_id)
            limit = self.page_size(int(request.query_params.get("limit", 50)), MEMBERS_PAGE)
            offset = int(request.query_params.get("offset", 0))
            members = [c for c in sorted(self.contacts.values(), key=lambda c: c.id) if item.id in c.list_ids]
            return {
                "contacts": [self._contact_json(c) for c in members[offset : offset + limit]],
                "count": len(members),
            }

        async def change(list_id: str, request: Request, adding: bool) -> JSONResponse:
            item = self._blist(list_id)
            body = await self.json_body(request)
            for key, kind in (("emails", "email_id"), ("extIds", "ext_id"), ("ids", "contact_id")):
                if key in body:
                    values, how = list(body[key]), kind
                    break
            else:
                raise BrevoProblem(400, "missing_parameter", "emails, extIds or ids is required")
            if len(values) > LIST_LIMIT:
                self.violation(f"{len(values)} contacts in one list {'add' if adding else 'remove'}")
                raise BrevoProblem(
                    400, "out_of_range", f"Maximum {LIST_LIMIT} contacts are allowed per request"
                )
            success, failure = [], []
            for value in values:
                contact = self.find(value, how)
                if contact is None or (item.id in contact.list_ids) == adding:
                    failure.append(value)
                    continue
                (contact.list_ids.add if adding else contact.list_ids.discard)(item.id)
                success.append(value)
            if not success:
                message = (
                    "Contact already in list and/or does not exist"
                    if adding
                    else "Contact already removed from list and/or does not exist"
                )
                raise BrevoProblem(400, "invalid_parameter", message)
            return JSONResponse({"contacts": {"success": success, "failure": failure}}, 201)

        @app.post("/v3/contacts/lists/{list_id}/contacts/add")
        async def add(list_id: str, request: Request) -> JSONResponse:
            return await change(list_id, request, True)

        @app.post("/v3/contacts/lists/{list_id}/contacts/remove")
        async def remove(list_id: str, request: Request) -> JSONResponse:
            return await change(list_id, request, False)

        @app.get("/v3/contacts/{identifier}")
        async def contact(identifier: str, request: Request) -> dict[str, Any]:
            found = self.find(identifier, request.query_params.get("identifierType", "email_id"))
            if found is None:
                raise BrevoProblem(404, "document_not_found", NOT_FOUND)
            return self._contact_json(found)

        @app.delete("/v3/contacts/{identifier}", status_code=204)
        async def delete_contact(identifier: str, request: Request) -> Response:
            found = self.find(identifier, request.query_params.get("identifierType", "email_id"))
            if found is None:
                raise BrevoProblem(404, "document_not_found", NOT_FOUND)
            self.contacts.pop(found.id)
            return Response(status_code=204)

        @app.post("/v3/contacts/import", status_code=202)
        async def import_contacts(request: Request) -> dict[str, Any]:
            body = await self.json_body(request)
            if not any(body.get(k) for k in ("jsonBody", "fileBody", "fileUrl")):
                raise BrevoProblem(400, "missing_parameter", "fileUrl, fileBody or jsonBody is required")
            process = Process(next(self._ids), dict(body))
            self.processes[process.id] = process
            return {"processId": process.id}

        @app.get("/v3/processes/{process_id}")
        async def process_status(process_id: str) -> dict[str, Any]:
            process = self.processes.get(int(process_id)) if process_id.isdigit() else None
            if process is None:
                raise BrevoProblem(404, "document_not_found", "Process does not exist")
            process.polls += 1
            if process.status != "completed":
                process.status = "in_process"
                if process.polls >= self.polls_to_complete:
                    self._run_import(process.body)
                    process.status = "completed"
            return {"id": process.id, "status": process.status, "name": "IMPORTUSER"}

    def state(self) -> dict[str, Any]:
        return {
            "contacts": len(self.contacts),
            "lists": [self._list_json(i) for i in self.lists.values()],
            "processes": len(self.processes),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        known = {c.email.lower() for c in self.contacts.values() if c.email}
        for identifier in identifiers:
            if identifier.lower() not in known:  # one pass, not a scan per contact (100k in the demo)
                known.add(identifier.lower())
                contact = Contact(next(self._ids), identifier)
                self.contacts[contact.id] = contact

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "api_key": self.api_key if valid else "xkeysib-wrong",
            "base_url": f"{base_url.rstrip('/')}/v3",
            "requests_per_second": self.limit_per_window,
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {c.email for c in self.contacts.values() if int(target.id) in c.list_ids and c.email}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            found = self.find(identifier)
            if found is not None:
                found.list_ids.add(int(target.id))

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            item = BList(next(self._ids), name, 1)
            self.lists[item.id] = item

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"FIRSTNAME": f"Ann{number}v{version}", "LASTNAME": "Martin"}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        return {c.email: dict(c.attributes) for c in self.contacts.values() if c.email}
