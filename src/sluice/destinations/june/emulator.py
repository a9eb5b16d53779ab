"""A local fake of the assumed June contact-list API (see connector.py and README.md: June documents
no public API, so this emulator implements Sluice's stated contract and nothing more).

Bearer API key (401 ``{"error": {"code": "unauthorized", …}}``), ``page``/``per_page`` pages
(≤ 100) with ``meta.total``, lists created by name (409 when the name is taken), list adds that
create missing contacts and report ``added`` / ``unchanged`` / per-email ``errors`` (an address
that is not an email, or one on the account's suppression list), removals, ≤ 500 emails per
call (400 beyond), and 429 with ``Retry-After``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import Target, TargetSpec

API_KEY = "june-emulator-key-0000"
MAX_EMAILS = 500
PAGE_MAX = 100
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class JuneList:
    id: int
    name: str
    #: members in the order they joined (a dict: O(1) look-ups at demo scale)
    emails: dict[str, None] = field(default_factory=dict)


class JuneProblem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers or None)


class JuneEmulator(Emulator):
    """One June account; ``suppressed`` addresses cannot be added to lists."""

    name = "june"
    batch_limit = MAX_EMAILS
    unknown_contact_message = "not applicable: adding an email creates the contact"

    def __init__(self, **kwargs: Any) -> None:
        self.contacts: set[str] = set()
        self.suppressed: set[str] = set()
        self.lists: dict[int, JuneList] = {}
        self._ids = itertools.count(1)
        super().__init__(**kwargs)

    def rate_limited(self) -> Response:
        return error(429, "rate_limited", "Too many requests", **{"Retry-After": "1"})

    def server_error(self) -> Response:
        return error(500, "internal_error", "Something went wrong")

    async def gate(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return error(401, "unauthorized", "Invalid API key")
        return None

    def _list(self, list_id: str) -> JuneList:
        found = self.lists.get(int(list_id)) if list_id.isdigit() else None
        if found is None:
            raise JuneProblem(404, "not_found", f"List {list_id} not found")
        return found

    def _page(self, request: Request, items: list[Any]) -> tuple[list[Any], dict[str, int]]:
        page = max(int(request.query_params.get("page", 1)), 1)
        per_page = self.page_size(int(request.query_params.get("per_page", 25)), PAGE_MAX)
        start = (page - 1) * per_page
        return items[start : start + per_page], {"page": page, "per_page": per_page, "total": len(items)}

    async def _emails(self, request: Request) -> list[str]:
        emails = (await self.json_body(request)).get("emails")
        if not isinstance(emails, list):
            raise JuneProblem(400, "invalid_request", "emails must be an array")
        if len(emails) > MAX_EMAILS:
            self.violation(f"{len(emails)} emails in one list call")
            raise JuneProblem(400, "too_many_emails", f"At most {MAX_EMAILS} emails per request")
        return [str(e) for e in emails]

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(JuneProblem)
        async def _problem(_: Request, exc: JuneProblem) -> JSONResponse:
            return error(exc.status, exc.code, exc.message)

        @app.get("/v1/account")
        async def account() -> dict[str, Any]:
            return {"data": {"name": "Sluice demo store", "contacts": len(self.contacts)}}

        @app.get("/v1/lists")
        async def lists(request: Request) -> dict[str, Any]:
            every = [
                {"id": i.id, "name": i.name, "contacts_count": len(i.emails)} for i in self.lists.values()
            ]
            data, meta = self._page(request, every)
            return {"data": data, "meta": meta}

        @app.get("/v1/lists/{list_id}")
        async def one_list(list_id: str) -> dict[str, Any]:
            found = self._list(list_id)
            return {"data": {"id": found.id, "name": found.name, "contacts_count": len(found.emails)}}

        @app.post("/v1/lists", status_code=201)
        async def create_list(request: Request) -> dict[str, Any]:
            name = str((await self.json_body(request)).get("name") or "").strip()
            if not name:
                raise JuneProblem(422, "invalid_request", "name is required")
            if any(i.name == name for i in self.lists.values()):
                raise JuneProblem(409, "conflict", f"A list named {name!r} already exists")
            item = JuneList(next(self._ids), name)
            self.lists[item.id] = item
            return {"data": {"id": item.id, "name": item.name}}

        @app.post("/v1/lists/{list_id}/contacts")
        async def add(list_id: str, request: Request) -> dict[str, Any]:
            found = self._list(list_id)
            added, unchanged, errors = [], [], []
            for email in await self._emails(request):
                if not EMAIL.fullmatch(email):
                    errors.append({"email": email, "message": "is not a valid email address"})
                elif email.lower() in self.suppressed:
                    errors.append(
                        {
                            "email": email,
                            "message": "is suppressed (unsubscribed or bounced) and cannot be added",
                        }
                    )
                elif email.lower() in found.emails:
                    unchanged.append(email)
                else:
                    self.contacts.add(email.lower())
                    found.emails[email.lower()] = None
                    added.append(email)
            return {"added": added, "unchanged": unchanged, "errors": errors}

        @app.post("/v1/lists/{list_id}/contacts/remove")
        async def remove(list_id: str, request: Request) -> dict[str, Any]:
            found = self._list(list_id)
            removed, unchanged = [], []
            for email in await self._emails(request):
                if email.lower() in found.emails:
                    del found.emails[email.lower()]
                    removed.append(email)
                else:
                    unchanged.append(email)
            return {"removed": removed, "unchanged": unchanged, "errors": []}

        @app.get("/v1/lists/{list_id}/contacts")
        async def members(list_id: str, request: Request) -> dict[str, Any]:
            data, meta = self._page(request, [{"email": e} for e in self._list(list_id).emails])
            return {"data": data, "meta": meta}

    def state(self) -> dict[str, Any]:
        return {"contacts": len(self.contacts), "lists": {i.name: len(i.emails) for i in self.lists.values()}}

    # -- conformance hooks -----------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.contacts.update(i.lower() for i in identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "api_url": f"{base_url.rstrip('/')}/v1",
            "api_key": API_KEY if valid else "wrong-key",
            "requests_per_second": 50,
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return set(self.lists[int(target.id)].emails)

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.lists[int(target.id)].emails.update(dict.fromkeys(i.lower() for i in identifiers))

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            item = JuneList(next(self._ids), name)
            self.lists[item.id] = item
