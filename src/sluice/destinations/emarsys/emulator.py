"""A local fake of the SAP Emarsys Core API v2 (the parts Sluice uses).

Faithful to: the X-WSSE UsernameToken header (the digest is recomputed from the API user's
secret, a ``Created`` more than 5 minutes from the server time or a reused nonce is refused with
401), the ``{"replyCode", "replyText", "data"}`` envelope, contact lists (``GET/POST /v2/contactlist``,
``/add`` and ``/delete`` with ``key_id`` + ``external_ids`` ≤ 10,000, per-contact errors
``{"<value>": {"2008": "No contact found with the external id: 3 - <value>"}}``, 3004 for an
unknown list, 3005 for a duplicate name), ``GET /v2/contactlist/{id}/contactIds`` (``$top`` ≤
100,000, ``$skiptoken``, ``next``), ``POST /v2/contact/getdata``, ``GET /v2/field``,
``PUT /v2/contact/?create_if_not_exists=`` (≤ 1,000 contacts, replyCode 1000 beyond, per-contact
``errors``), RDS ``…/records/upsert`` and ``…/records/remove`` (≤ 1,000 records), and the rate
limit: 1,000 requests per minute per API user, ``X-RateLimit-Limit``, ``X-Ratelimit-Remaining``
(Emarsys' casing), ``X-RateLimit-Reset`` (Unix time) and 429 without ``Retry-After``.
Assumed where Emarsys documents no body: the 401/429/500 reply texts and the RDS error texts.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

USERNAME = "sluice_emulator001"
SECRET = "emulator-emarsys-api-secret"  # noqa: S105 - the fake account's secret
CONNECTION = "sluice_rds"
CONTACT_BATCH = 1000
LIST_BATCH = 10_000
RDS_BATCH = 1000
GETDATA_LIMIT = 1000
MAX_TOP = 100_000
LIMIT_PER_MINUTE = 1000
CLOCK_SKEW = 300.0
EMAIL, BIRTH_DATE, CUSTOMER_ID, LOYALTY_TIER = "3", "4", "4800", "4801"
NOT_FOUND = "No contact found with the external id"
WSSE = re.compile(r'(\w+)="([^"]*)"')
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FIELDS: dict[str, dict[str, Any]] = {
    "1": {"name": "First Name", "string_id": "first_name", "application_type": "shorttext"},
    "2": {"name": "Last Name", "string_id": "last_name", "application_type": "shorttext"},
    EMAIL: {"name": "E-Mail", "string_id": "email", "application_type": "email"},
    BIRTH_DATE: {"name": "Date of Birth", "string_id": "birth_date", "application_type": "birthdate"},
    "11": {"name": "City", "string_id": "city", "application_type": "shorttext"},
    "14": {"name": "Country", "string_id": "country", "application_type": "singlechoice"},
    CUSTOMER_ID: {"name": "customer_id", "string_id": "customer_id", "application_type": "shorttext"},
    LOYALTY_TIER: {"name": "loyalty_tier", "string_id": "loyalty_tier", "application_type": "shorttext"},
}
#: the mapped field names the conformance suite writes, and the field ids that hold them
MAPPED = {"first_name": "1", "loyalty_tier": LOYALTY_TIER}
INDEXED = (EMAIL, CUSTOMER_ID)
TABLES = {(CONNECTION, "purchases"): ("external_id", {"external_id", "product", "amount"})}


def reply(data: Any = None, status: int = 200, code: int = 0, text: str = "OK") -> JSONResponse:
    """Emarsys' envelope."""
    return JSONResponse({"replyCode": code, "replyText": text, "data": "" if data is None else data}, status)


@dataclass
class ContactList:
    id: int
    name: str
    created: str
    members: set[int] = field(default_factory=set)


class EmarsysEmulator(Emulator):
    """One Emarsys account with one API user; ``limit_per_minute`` requests per minute."""

    name = "emarsys"
    identifier_kind = IdentifierKind.EMAIL
    batch_limit = CONTACT_BATCH
    unknown_contact_message = NOT_FOUND
    upsert_specs = (
        TargetSpec(kind="contact", identifier_kind=IdentifierKind.EMAIL),
        TargetSpec(kind="contact", identifier_kind=IdentifierKind.EXTERNAL_ID),
        TargetSpec(
            kind="rds_table", id="purchases", parent_id=CONNECTION, identifier_kind=IdentifierKind.EXTERNAL_ID
        ),
    )

    def __init__(self, *, limit_per_minute: int = LIMIT_PER_MINUTE, **kwargs: Any) -> None:
        self.secret = SECRET
        self.contacts: dict[int, dict[str, Any]] = {}
        #: key field → normalised value → contact id (the fields contacts are looked up by)
        self.index: dict[str, dict[str, int]] = {field_id: {} for field_id in INDEXED}
        self.lists: dict[int, ContactList] = {}
        self.tables: dict[tuple[str, str], dict[str, dict[str, Any]]] = {key: {} for key in TABLES}
        self.limit_per_minute = limit_per_minute
        self.used_nonces: deque[str] = deque(maxlen=100_000)
        self._window_start = 0.0
        self._window_used = 0
        self._ids = itertools.count(100_000_001)
        self._list_ids = itertools.count(700_000_001)
        super().__init__(**kwargs)

    # -- auth, rate windows and errors -------------------------------------------------------

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        if now - self._window_start >= 60.0:
            self._window_start, self._window_used = now, 0
        return max(self.limit_per_minute - self._window_used, 0), self._window_start + 60.0

    def response_headers(self) -> dict[str, str]:
        remaining, reset = self._window()
        return {
            "X-RateLimit-Limit": str(self.limit_per_minute),
            "X-Ratelimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(reset + 0.999)),
        }

    def rate_limited(self) -> Response:
        self._window()
        self._window_used = self.limit_per_minute
        response = reply(None, 429, 429, "Too many requests")
        response.headers.update(self.response_headers())
        return response

    def server_error(self) -> Response:
        return reply(None, 500, 1, "Internal Server Error")

    def _auth_problem(self, header: str | None) -> str | None:
        if not header or not header.startswith("UsernameToken "):
            return "X-WSSE header is missing"
        parts = dict(WSSE.findall(header))
        if parts.get("Username") != USERNAME:
            return "Unknown API user"
        try:
            created = datetime.strptime(parts.get("Created", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "Created is not an ISO-8601 UTC time"
        if abs(self.clock() - created.timestamp()) > CLOCK_SKEW:
            return "Request expired: Created is more than 5 minutes from the server time"
        nonce = parts.get("Nonce", "")
        hexdigest = hashlib.sha1(
            (nonce + parts["Created"] + self.secret).encode(), usedforsecurity=False
        ).hexdigest()
        if not nonce or parts.get("PasswordDigest") != base64.b64encode(hexdigest.encode()).decode():
            return "Invalid password digest"
        if nonce in self.used_nonces:
            return "Nonce already used"
        self.used_nonces.append(nonce)
        return None

    async def gate(self, request: Request) -> Response | None:
        remaining, _ = self._window()
        if remaining <= 0:
            return self.rate_limited()
        self._window_used += 1
        problem = self._auth_problem(request.headers.get("x-wsse"))
        if problem is not None:
            response = reply(None, 401, 1, f"Unauthorized: {problem}")
            response.headers.update(self.response_headers())
            return response
        return None

    # -- contacts ------------------------------------------------------------------------------

    @staticmethod
    def _normal(key_id: str, value: Any) -> str:
        return str(value).strip().lower() if key_id == EMAIL else str(value)

    def find(self, key_id: str, value: Any) -> int | None:
        """The contact whose field ``key_id`` holds ``value`` (emails whatever their case)."""
        wanted = self._normal(key_id, value)
        if key_id in INDEXED:
            return self.index[key_id].get(wanted)
        for contact_id, contact in self.contacts.items():
            stored = contact.get(key_id)
            if stored is not None and self._normal(key_id, stored) == wanted:
                return contact_id
        return None

    def _set(self, contact_id: int, field_id: str, value: Any) -> None:
        """Write (or, for null/empty, clear) one field, keeping the key-field indexes in step."""
        contact = self.contacts[contact_id]
        if field_id in INDEXED and field_id in contact:
            self.index[field_id].pop(self._normal(field_id, contact[field_id]), None)
        if value in (None, ""):
            contact.pop(field_id, None)
            return
        contact[field_id] = value
        if field_id in INDEXED:
            self.index[field_id][self._normal(field_id, value)] = contact_id

    def _new_contact(self, values: dict[str, Any]) -> int:
        contact_id = next(self._ids)
        self.contacts[contact_id] = {}
        for field_id, value in values.items():
            self._set(contact_id, field_id, value)
        return contact_id

    def _invalid_field(self, values: dict[str, Any]) -> tuple[str, str] | None:
        for field_id, value in values.items():
            if field_id not in FIELDS:
                return "2004", f"Invalid field ID: {field_id}"
            if field_id == BIRTH_DATE and value not in (None, "") and not DATE.fullmatch(str(value)):
                return "2007", f"Invalid data format for field ID: {field_id}"
        return None

    def _key(self, body: Any) -> str | None:
        key_id = str((body or {}).get("key_id", EMAIL)) if isinstance(body, dict) else EMAIL
        return key_id if key_id in FIELDS else None

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/v2/settings")
        async def settings() -> JSONResponse:
            return reply(
                {"id": 1, "environment": "suite.emarsys.net", "timezone": "Europe/Vienna", "name": "Sluice"}
            )

        @app.get("/v2/field")
        async def fields() -> JSONResponse:
            return reply([{"id": int(i), **f} for i, f in FIELDS.items()])

        @app.get("/v2/contactlist")
        async def contact_lists() -> JSONResponse:
            return reply(
                [
                    {"id": str(c.id), "name": c.name, "created": c.created, "type": 0}
                    for c in self.lists.values()
                ]
            )

        @app.post("/v2/contactlist")
        async def create_list(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            name = str((body or {}).get("name") or "")
            key_id = self._key(body)
            if not name:
                return reply(None, 400, 3004, "List name is not set.")
            if key_id is None:
                return reply(None, 400, 2005, "Invalid key field id")
            if any(c.name == name for c in self.lists.values()):
                return reply(None, 400, 3005, "Contact list with the requested name already exists.")
            item = self._create_list(name)
            errors = self._change(item, key_id, list(body.get("external_ids") or []), adding=True)
            return reply({"id": item.id, "errors": errors or []})

        async def change(list_id: str, request: Request, adding: bool) -> JSONResponse:
            body = await self.json_body(request)
            item = self.lists.get(int(list_id)) if list_id.isdigit() else None
            if item is None:
                return reply(None, 400, 3004, f"Invalid contact list id: {list_id}")
            key_id = self._key(body)
            if key_id is None:
                return reply(None, 400, 2005, "Invalid key field id")
            ids = (body or {}).get("external_ids")
            if not isinstance(ids, list):
                return reply(
                    None, 400, 3003, "Invalid datatype for the list of external IDs. Array expected."
                )
            if len(ids) > LIST_BATCH:
                self.violation(f"{len(ids)} external ids in one contact list call")
                return reply(None, 400, 3002, "The list of external IDs exceeds the maximum size.")
            before = len(item.members)
            errors = self._change(item, key_id, ids, adding=adding)
            counted = "inserted_contacts" if adding else "deleted_contacts"
            return reply({counted: abs(len(item.members) - before), "errors": errors})

        @app.post("/v2/contactlist/{list_id}/add")
        async def add(list_id: str, request: Request) -> JSONResponse:
            return await change(list_id, request, adding=True)

        @app.post("/v2/contactlist/{list_id}/delete")
        async def remove(list_id: str, request: Request) -> JSONResponse:
            return await change(list_id, request, adding=False)

        @app.get("/v2/contactlist/{list_id}/contactIds")
        async def contact_ids(list_id: str, request: Request) -> JSONResponse:
            item = self.lists.get(int(list_id)) if list_id.isdigit() else None
            if item is None:
                return reply(None, 404, 3006, "No contact list found with the specified ID.")
            top = self.page_size(int(request.query_params.get("$top", 10_000)), MAX_TOP)
            skip = int(request.query_params.get("$skiptoken", 0))
            members = sorted(item.members)
            page = members[skip : skip + top]
            more = skip + top < len(members)
            following = (
                f"/contactlist/{item.id}/contactIds?$skiptoken={skip + top}&$top={top}" if more else None
            )
            return JSONResponse({"value": page, "next": following})

        @app.post("/v2/contact/getdata")
        async def get_data(request: Request) -> JSONResponse:
            body = await self.json_body(request) or {}
            values = [str(v) for v in body.get("keyValues") or []]
            if len(values) > GETDATA_LIMIT:
                self.violation(f"{len(values)} keyValues in one getdata call")
                return reply(
                    None, 400, 1000, f"The request exceeded the maximum batch size of {GETDATA_LIMIT}."
                )
            wanted = [str(f) for f in body.get("fields") or []]
            key = str(body.get("keyId", EMAIL))
            result, errors = [], []
            for value in values:
                contact_id = int(value) if key == "id" and value.isdigit() else self.find(key, value)
                contact = self.contacts.get(contact_id) if contact_id is not None else None
                if contact is None:
                    errors.append({"key": value, "errorCode": 2008, "errorMsg": "No contact found"})
                    continue
                result.append({"id": str(contact_id), **{f: contact.get(f) for f in wanted}})
            return reply({"errors": errors, "result": result or False})

        async def upsert(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            key_id = self._key(body)
            if key_id is None:
                return reply(None, 400, 2005, "Invalid key field id")
            contacts = (body or {}).get("contacts")
            if not isinstance(contacts, list):
                return reply(None, 400, 10001, "contacts: array expected")
            if len(contacts) > CONTACT_BATCH:
                self.violation(f"{len(contacts)} contacts in one PUT /contact")
                return reply(None, 400, 1000, "The request exceeded the maximum batch size of 1,000.")
            create = request.query_params.get("create_if_not_exists") == "1"
            ids: list[int] = []
            errors: dict[str, dict[str, str]] = {}
            for contact in contacts:
                value = contact.get(key_id)
                if value in (None, ""):
                    errors[str(value)] = {"2005": f"No value given for the key field {key_id}"}
                    continue
                problem = self._invalid_field(contact)
                if problem is not None:
                    errors[str(value)] = {problem[0]: problem[1]}
                    continue
                contact_id = self.find(key_id, value)
                if contact_id is None and not create:
                    errors[str(value)] = {"2008": f"{NOT_FOUND}: {key_id} - {value}"}
                    continue
                if contact_id is None:
                    contact_id = self._new_contact(contact)
                else:
                    for field_id, new in contact.items():
                        self._set(contact_id, field_id, new)
                ids.append(contact_id)
            return reply({"ids": ids, "errors": errors} if errors else {"ids": ids})

        app.add_api_route("/v2/contact", upsert, methods=["PUT"])
        app.add_api_route("/v2/contact/", upsert, methods=["PUT"])

        async def rds(connection: str, table: str, request: Request, removing: bool) -> JSONResponse:
            if (connection, table) not in self.tables:
                return reply(None, 404, 404, f"Table {table} not found on connection {connection}")
            key, columns = TABLES[(connection, table)]
            records = await self.json_body(request)
            if not isinstance(records, list):
                return reply(None, 400, 400, "Request body must be an array of records")
            if len(records) > RDS_BATCH:
                self.violation(f"{len(records)} records in one RDS call")
                return reply(None, 400, 400, f"The maximum number of objects per request is {RDS_BATCH}")
            for record in records:
                unknown = sorted(set(record) - columns)
                if unknown:
                    return reply(None, 400, 400, f"Unknown column '{unknown[0]}' in 'field list'")
                if record.get(key) in (None, "") and not removing:
                    return reply(None, 400, 400, f"Missing value of primary key column '{key}'")
            rows = self.tables[(connection, table)]
            for record in records:
                if removing:
                    for row_key in [
                        k for k, row in rows.items() if all(row.get(c) == v for c, v in record.items())
                    ]:
                        del rows[row_key]
                else:
                    rows.setdefault(str(record[key]), {}).update(record)
            return reply()

        @app.post("/rds/connections/{connection}/tables/{table}/records/upsert")
        async def rds_upsert(connection: str, table: str, request: Request) -> JSONResponse:
            return await rds(connection, table, request, removing=False)

        @app.post("/rds/connections/{connection}/tables/{table}/records/remove")
        async def rds_remove(connection: str, table: str, request: Request) -> JSONResponse:
            return await rds(connection, table, request, removing=True)

    def _create_list(self, name: str) -> ContactList:
        item = ContactList(
            next(self._list_ids),
            name,
            datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )
        self.lists[item.id] = item
        return item

    def _change(self, item: ContactList, key_id: str, values: list[Any], *, adding: bool) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for value in values:
            contact_id = self.find(key_id, value)
            if contact_id is None:
                errors[str(value)] = {"2008": f"{NOT_FOUND}: {key_id} - {value}"}
            elif adding:
                item.members.add(contact_id)
            else:
                item.members.discard(contact_id)
        return errors

    def state(self) -> dict[str, Any]:
        return {
            "contacts": len(self.contacts),
            "contact_lists": {c.name: len(c.members) for c in self.lists.values()},
            "rds_tables": {f"{c}/{t}": len(rows) for (c, t), rows in self.tables.items()},
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            key_id = EMAIL if "@" in identifier else CUSTOMER_ID
            if self.find(key_id, identifier) is None:
                self._new_contact({key_id: identifier})

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "username": USERNAME,
            "secret": self.secret if valid else "wrong-secret",
            "external_id_field": "customer_id",
            "rds_connection": CONNECTION,
            "base_url": base_url.rstrip("/"),
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="contact_list", name="Sluice conformance")

    def _key_of(self, target: Target) -> str:
        return EMAIL if target.identifier_kind is IdentifierKind.EMAIL else CUSTOMER_ID

    def members(self, target: Target) -> set[str]:
        key = self._key_of(target)
        item = self.lists[int(target.id)]
        return {str(self.contacts[c][key]) for c in item.members if self.contacts[c].get(key)}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._change(self.lists[int(target.id)], self._key_of(target), list(identifiers), adding=True)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self._create_list(name)

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        if target.kind == "rds_table":
            return {"product": f"p{number}v{version}", "amount": number * 10 + version}
        return {"first_name": f"Ann{number}v{version}", "loyalty_tier": f"tier-{number}-{version}"}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        if target.kind == "rds_table":
            key, _ = TABLES[(target.parent_id or CONNECTION, target.id)]
            rows = self.tables[(target.parent_id or CONNECTION, target.id)]
            return {k: {c: v for c, v in row.items() if c != key} for k, row in rows.items()}
        key = self._key_of(target)
        return {
            str(c[key]): {name: c.get(field_id) for name, field_id in MAPPED.items()}
            for c in self.contacts.values()
            if c.get(key)
        }

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        if target.kind == "rds_table":
            return {"colour": "red"}, "Unknown column 'colour'"
        return {"birth_date": "31/12/1990"}, "Invalid data format for field ID: 4"
