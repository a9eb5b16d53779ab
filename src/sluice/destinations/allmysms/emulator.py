"""A local fake of the All My SMS HTTP API 9.0 contact-list calls, under ``/http/9.0``.

Documented by public client code (github.com/davaxi/AllMySMS ``ContactList`` / ``Account``) and the
vendor's API page: form fields ``login`` + ``apiKey`` on every call, ``getInfo``, ``getLists``,
``getContacts`` (``MobilePhone`` and the list's fields), ``createList`` with ``listData`` (create a
list with a ``STRUCTURE`` of fields), ``populateData`` (add contacts: ``success`` / ``ignored`` /
``duplicated`` counts) and ``deleteData`` (remove them), numbers as international digits without
``+``. Inferred and stated in README.md: the error answer ``{"status": "<code>", "statusText"}``
with 102 for a wrong login or key and 104 for a bad parameter, that a contact already in the list
is *duplicated* (not updated), that blacklisted or impossible numbers are *ignored*, the
1000-contact cap per call and a 429 when requests come too fast.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

LOGIN = "sluice-demo"
API_KEY = "ams-emulator-key-0000"
MAX_CONTACTS = 1000
MSISDN = re.compile(r"[1-9][0-9]{7,14}")


@dataclass
class ContactList:
    name: str
    fields: list[str]
    created: str = "2026-12-04"
    #: number → field values (by the list's field names)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)


def failure(code: int, text: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": str(code), "statusText": text}, status)


class AllMySmsEmulator(Emulator):
    """One account with a blacklist (numbers that answered STOP)."""

    name = "allmysms"
    identifier_kind = IdentifierKind.PHONE
    batch_limit = MAX_CONTACTS
    unknown_contact_message = "not applicable: adding a number creates the contact"
    upsert_specs = (TargetSpec(kind="list", name="Sluice contacts", identifier_kind=IdentifierKind.PHONE),)

    def __init__(self, **kwargs: Any) -> None:
        self.lists: dict[str, ContactList] = {}
        self.blacklist: set[str] = set()
        super().__init__(**kwargs)

    def rate_limited(self) -> Response:
        return failure(429, "Too many requests", 429)

    def server_error(self) -> Response:
        return failure(500, "Internal error", 500)

    # -- actions -----------------------------------------------------------------------------------

    def _create_list(self, data: dict[str, Any]) -> JSONResponse:
        name = str(data.get("LISTNAME") or "")
        if not name:
            return failure(104, "LISTNAME is missing")
        if name in self.lists:
            return failure(105, f"list {name} already exists")
        fields = [
            str(f.get("FIELDNAME", "")).upper() for f in data.get("STRUCTURE") or [] if f.get("FIELDNAME")
        ]
        self.lists[name] = ContactList(name, fields)
        return JSONResponse({"status": "1", "statusText": "database successfully populated"})

    def _contacts_of(self, data: dict[str, Any]) -> tuple[ContactList, list[dict[str, Any]]] | JSONResponse:
        found = self.lists.get(str(data.get("LISTNAME") or ""))
        if found is None:
            return failure(106, f"list {data.get('LISTNAME')} does not exist")
        contacts = data.get("CONTACTS") or []
        if len(contacts) > MAX_CONTACTS:
            self.violation(f"{len(contacts)} contacts in one createList call")
            return failure(104, f"a maximum of {MAX_CONTACTS} contacts is allowed per call")
        return found, contacts

    def _populate(self, data: dict[str, Any]) -> JSONResponse:
        held = self._contacts_of(data)
        if isinstance(held, JSONResponse):
            return held
        found, contacts = held
        unknown = sorted({k.upper() for c in contacts for k in c} - {"MOBILEPHONE", *found.fields})
        if unknown:
            return failure(104, f"field {unknown[0]} is not in the structure of list {found.name}")
        success = ignored = duplicated = 0
        for contact in contacts:
            number = str(contact.get("MOBILEPHONE", ""))
            if not MSISDN.fullmatch(number) or number in self.blacklist:
                ignored += 1
            elif number in found.contacts:
                duplicated += 1
            else:
                found.contacts[number] = {
                    k.upper(): str(v) for k, v in contact.items() if k.upper() != "MOBILEPHONE"
                }
                success += 1
        text = f"list {found.name} successfully populated"
        return JSONResponse(
            {
                "status": "1",
                "statusText": text,
                "success": success,
                "ignored": ignored,
                "duplicated": duplicated,
            }
        )

    def _delete(self, data: dict[str, Any]) -> JSONResponse:
        held = self._contacts_of(data)
        if isinstance(held, JSONResponse):
            return held
        found, contacts = held
        removed = sum(
            1 for c in contacts if found.contacts.pop(str(c.get("MOBILEPHONE", "")), None) is not None
        )
        text = f"list {found.name} successfully populated"
        return JSONResponse(
            {
                "status": "1",
                "statusText": text,
                "success": removed,
                "ignored": len(contacts) - removed,
                "duplicated": 0,
            }
        )

    # -- routes ------------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/http/9.0/{action}/")
        async def call(action: str, request: Request) -> Response:
            form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
            if form.get("login") != LOGIN or form.get("apiKey") != API_KEY:
                return failure(102, "Authentication failed: unknown login or apiKey")
            if action == "getInfo":
                return JSONResponse(
                    {
                        "status": "Active Account",
                        "credits": "1847",
                        "society": "Sluice demo",
                        "email": "demo@sluice.example",
                    }
                )
            if action == "getLists":
                lists = [
                    {
                        "listName": c.name,
                        "contacts": str(len(c.contacts)),
                        "locked": "0",
                        "creationDate": c.created,
                    }
                    for c in self.lists.values()
                ]
                return JSONResponse({"lists": lists})
            if action == "getContacts":
                found = self.lists.get(form.get("listName", ""))
                if found is None:
                    return failure(106, f"list {form.get('listName')} does not exist")
                rows = [
                    {"MobilePhone": number, **{f.capitalize(): v for f, v in values.items()}}
                    for number, values in found.contacts.items()
                ]
                return JSONResponse({"contacts": rows})
            if action == "createList":
                for key, handler in (
                    ("listData", self._create_list),
                    ("populateData", self._populate),
                    ("deleteData", self._delete),
                ):
                    if key in form:
                        try:
                            data = json.loads(form[key])["DATA"]
                        except (ValueError, KeyError, TypeError):
                            return failure(104, f"{key} is not valid JSON with a DATA object")
                        return handler(data)
                return failure(104, "listData, populateData or deleteData is missing")
            return failure(100, f"unknown action {action}")

    def state(self) -> dict[str, Any]:
        return {
            "lists": {name: len(c.contacts) for name, c in self.lists.items()},
            "blacklist": len(self.blacklist),
        }

    # -- conformance hooks -----------------------------------------------------------------------

    def contact_identifier(self, number: int) -> str:
        return f"+336{number:08d}"

    def invalid_identifier(self) -> str:
        return "06 12 34"

    def record_identifier(self, target: Target, number: int) -> str:
        return self.contact_identifier(number)

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        """Numbers need no account-level contact: a list holds them."""

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "login": LOGIN,
            "api_key": API_KEY if valid else "wrong-key",
            "base_url": f"{base_url.rstrip('/')}/http/9.0",
            "requests_per_second": 20,
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="list", name="Sluice conformance", identifier_kind=IdentifierKind.PHONE)

    def members(self, target: Target) -> set[str]:
        found = self.lists.get(target.id)
        return {f"+{number}" for number in found.contacts} if found else set()

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            self.lists[target.id].contacts[identifier.lstrip("+")] = {}

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.lists[name] = ContactList(
                name, ["FIRSTNAME", "LASTNAME"], created=dt.date(2026, 12, 1).isoformat()
            )

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"FIRSTNAME": f"Ann{number}v{version}", "LASTNAME": "Martin"}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        found = self.lists.get(target.id)
        return {f"+{number}": dict(values) for number, values in found.contacts.items()} if found else {}
