"""A local fake of the Marigold Engage (Selligent) API under ``/Portal/Api``, limited to what Sluice uses.

What is documented (Tealium's connector guide, Engage release notes): the ``/Portal/Api`` base, an
organization per account, key + secret credentials, loading data into a list by API name
(upsert, with insert-only / update-only modes since 5.89), deleting from a list, adding to and
removing from segments. Inferred (stated in README.md, kept small): the exact paths and bodies
below, ``X-ApiKey: key:secret``, per-record ``errors`` with ``index`` and ``message``, ``skip`` /
``take`` pages with ``total``, ``{"Message"}`` errors, 429 with ``Retry-After``, and the
1000-record cap the connector keeps (enforced here as a stated assumption).

The profile list ``CONTACTS`` has typed fields: ``MAIL`` (key, text 255), ``NAME`` / ``FIRSTNAME``
(text 100), ``MOBILE`` (text 50), ``BIRTHDATE`` (datetime), ``OPTOUT`` (int). Values are checked per
record (length, type) and refused records are reported without stopping the others; an unknown
field refuses the whole request.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

ORGANIZATION = "SLUICE"
API_KEY = "sluice-emulator"
API_SECRET = "emulator-secret-0000"  # noqa: S105 - the emulator's fixed fake credential
MAX_RECORDS = 1000
PAGE_MAX = 500
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: CONTACTS list schema: field → (type, max length)
SCHEMA: dict[str, tuple[str, int]] = {
    "MAIL": ("text", 255),
    "NAME": ("text", 100),
    "FIRSTNAME": ("text", 100),
    "MOBILE": ("text", 50),
    "BIRTHDATE": ("datetime", 0),
    "OPTOUT": ("int", 0),
}


@dataclass
class Segment:
    api_name: str
    name: str
    record_ids: set[int] = field(default_factory=set)


class SelligentProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"Message": message}, status)


class SelligentEmulator(Emulator):
    """Organization ``SLUICE`` with the profile list ``CONTACTS`` (key ``MAIL``)."""

    name = "selligent"
    batch_limit = MAX_RECORDS
    unknown_contact_message = "No record found in list CONTACTS"
    upsert_specs = (TargetSpec(kind="list", name="CONTACTS", identifier_kind=IdentifierKind.EMAIL),)

    def __init__(self, **kwargs: Any) -> None:
        self.records_by_id: dict[int, dict[str, Any]] = {}
        #: lower-cased MAIL → record id (the list's unique key)
        self.key_index: dict[str, int] = {}
        self.segments: dict[str, Segment] = {}
        self._ids = itertools.count(1)
        super().__init__(**kwargs)

    # -- errors and gate -------------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return JSONResponse(
            {"Message": "Too many requests. Please retry later."}, 429, headers={"Retry-After": "1"}
        )

    def server_error(self) -> Response:
        return problem(500, "An error has occurred.")

    async def gate(self, request: Request) -> Response | None:
        if request.headers.get("x-apikey") != f"{API_KEY}:{API_SECRET}":
            return problem(401, "Authorization has been denied for this request.")
        return None

    # -- helpers ---------------------------------------------------------------------------------

    def _by_key(self, value: str) -> int | None:
        return self.key_index.get(value.lower())

    def _insert(self, record: dict[str, Any]) -> int:
        record_id = next(self._ids)
        self.records_by_id[record_id] = dict(record)
        self.key_index[str(record["MAIL"]).lower()] = record_id
        return record_id

    def _check_list(self, org: str, list_name: str) -> None:
        if org != ORGANIZATION:
            raise SelligentProblem(404, f"Organization '{org}' not found")
        if list_name != "CONTACTS":
            raise SelligentProblem(404, f"List with api name '{list_name}' not found")

    def _segment(self, org: str, list_name: str, segment: str) -> Segment:
        self._check_list(org, list_name)
        if segment not in self.segments:
            raise SelligentProblem(404, f"Segment with api name '{segment}' not found")
        return self.segments[segment]

    def _records(self, body: Any) -> tuple[str, list[dict[str, Any]]]:
        keys = body.get("keys") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        if keys != ["MAIL"] or not isinstance(data, list):
            raise SelligentProblem(400, "keys must name the list's key field MAIL and data must be an array")
        if len(data) > MAX_RECORDS:
            self.violation(f"{len(data)} records in one request")
            raise SelligentProblem(400, f"A maximum of {MAX_RECORDS} records is allowed per request")
        return "MAIL", data

    @staticmethod
    def _invalid(name: str, value: Any) -> str | None:
        kind, length = SCHEMA[name]
        if value is None or value == "":
            return "MAIL is required" if name == "MAIL" else None
        if kind == "text" and len(str(value)) > length:
            return f"Value for field {name} exceeds the maximum length of {length}"
        if name == "MAIL" and not EMAIL.fullmatch(str(value)):
            return f"Value '{value}' for field MAIL is not a valid email address"
        if kind == "datetime":
            try:
                dt.datetime.fromisoformat(str(value))
            except ValueError:
                return f"Value '{value}' for field {name} is not a valid DateTime"
        if kind == "int" and not str(value).lstrip("-").isdigit():
            return f"Value '{value}' for field {name} is not a valid Int32"
        return None

    def _load(self, body: Any) -> dict[str, Any]:
        _, data = self._records(body)
        mode = body.get("mode", "InsertOrUpdate")
        if mode not in ("InsertOrUpdate", "Insert", "Update"):
            raise SelligentProblem(400, f"Unknown load mode '{mode}'")
        unknown = sorted({name for record in data for name in record} - set(SCHEMA))
        if unknown:
            raise SelligentProblem(400, f"Field '{unknown[0]}' does not exist in list CONTACTS")
        inserted = updated = 0
        errors = []
        for index, record in enumerate(data):
            reason = next((r for name, value in record.items() if (r := self._invalid(name, value))), None)
            if reason is None and "MAIL" not in record:
                reason = "MAIL is required"
            existing = self._by_key(str(record.get("MAIL", "")))
            if reason is None and existing is None and mode == "Update":
                reason = f"No record found in list CONTACTS with MAIL = {record['MAIL']}"
            if reason is None and existing is not None and mode == "Insert":
                reason = f"A record with MAIL = {record['MAIL']} already exists in list CONTACTS"
            if reason is not None:
                errors.append({"index": index, "message": reason})
                continue
            if existing is None:
                self._insert(record)
                inserted += 1
            else:
                self.records_by_id[existing].update(record)
                updated += 1
        return {"inserted": inserted, "updated": updated, "errors": errors}

    def _page(self, request: Request) -> slice:
        skip = int(request.query_params.get("skip", 0))
        take = self.page_size(int(request.query_params.get("take", 50)), PAGE_MAX)
        return slice(skip, skip + take)

    # -- routes ----------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(SelligentProblem)
        async def _problem(_: Request, exc: SelligentProblem) -> JSONResponse:
            return problem(exc.status, exc.message)

        org_path = "/Portal/Api/organizations/{org}"
        list_path = org_path + "/lists/{list_name}"

        @app.get(org_path)
        async def organization(org: str) -> dict[str, Any]:
            if org != ORGANIZATION:
                raise SelligentProblem(404, f"Organization '{org}' not found")
            return {"name": ORGANIZATION, "description": "Sluice demo organization"}

        @app.get(org_path + "/lists")
        async def lists(org: str, request: Request) -> dict[str, Any]:
            self._check_list(org, "CONTACTS")
            every = [self._list_json()]
            return {"lists": every[self._page(request)], "total": len(every)}

        @app.get(list_path)
        async def one_list(org: str, list_name: str) -> dict[str, Any]:
            self._check_list(org, list_name)
            return self._list_json()

        @app.post(list_path + "/data/load")
        async def load(org: str, list_name: str, request: Request) -> dict[str, Any]:
            self._check_list(org, list_name)
            return self._load(await self.json_body(request))

        @app.post(list_path + "/data/delete")
        async def delete(org: str, list_name: str, request: Request) -> dict[str, Any]:
            self._check_list(org, list_name)
            _, data = self._records(await self.json_body(request))
            deleted = 0
            for record in data:
                found = self._by_key(str(record.get("MAIL", "")))
                if found is not None:
                    self.key_index.pop(str(self.records_by_id.pop(found)["MAIL"]).lower(), None)
                    for segment in self.segments.values():
                        segment.record_ids.discard(found)
                    deleted += 1
            return {"deleted": deleted, "errors": []}

        @app.get(list_path + "/segments")
        async def segments(org: str, list_name: str, request: Request) -> dict[str, Any]:
            self._check_list(org, list_name)
            every = [
                {"api_name": s.api_name, "name": s.name, "type": "Static"} for s in self.segments.values()
            ]
            return {"segments": every[self._page(request)], "total": len(every)}

        @app.post(list_path + "/segments", status_code=201)
        async def create_segment(org: str, list_name: str, request: Request) -> dict[str, Any]:
            self._check_list(org, list_name)
            body = await self.json_body(request)
            wanted = str(body.get("api_name") or "")
            if not re.fullmatch(r"[A-Z0-9_]{1,50}", wanted) or body.get("type") != "Static":
                raise SelligentProblem(400, "api_name (A-Z, 0-9, _) and type Static are required")
            if wanted in self.segments:
                raise SelligentProblem(409, f"A segment with api name '{wanted}' already exists")
            self.segments[wanted] = Segment(wanted, str(body.get("name") or wanted))
            return {"api_name": wanted}

        @app.post(list_path + "/segments/{segment}/contacts/{verb}")
        async def segment_contacts(
            org: str, list_name: str, segment: str, verb: str, request: Request
        ) -> dict[str, Any]:
            found = self._segment(org, list_name, segment)
            if verb not in ("add", "remove"):
                raise SelligentProblem(404, "No HTTP resource was found that matches the request URI")
            _, data = self._records(await self.json_body(request))
            errors = []
            for index, record in enumerate(data):
                record_id = self._by_key(str(record.get("MAIL", "")))
                if record_id is None:
                    errors.append(
                        {
                            "index": index,
                            "message": f"No record found in list CONTACTS with MAIL = {record.get('MAIL')}",
                        }
                    )
                elif verb == "add":
                    found.record_ids.add(record_id)
                else:
                    found.record_ids.discard(record_id)
            return {"errors": errors}

        @app.get(list_path + "/segments/{segment}/contacts")
        async def segment_members(org: str, list_name: str, segment: str, request: Request) -> dict[str, Any]:
            found = self._segment(org, list_name, segment)
            ids = sorted(found.record_ids)
            rows = [
                {"ID": rid, "MAIL": self.records_by_id[rid].get("MAIL")} for rid in ids[self._page(request)]
            ]
            return {"contacts": rows, "total": len(ids)}

    def _list_json(self) -> dict[str, Any]:
        return {
            "api_name": "CONTACTS",
            "name": "Contacts",
            "type": "Users",
            "fields": [{"name": n, "data_type": t, "length": length} for n, (t, length) in SCHEMA.items()],
        }

    def state(self) -> dict[str, Any]:
        return {
            "records": len(self.records_by_id),
            "segments": {k: len(s.record_ids) for k, s in self.segments.items()},
        }

    # -- conformance hooks -----------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            if self._by_key(identifier) is None:
                self._insert({"MAIL": identifier})

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "server_url": base_url,
            "organization": ORGANIZATION,
            "api_key": API_KEY,
            "api_secret": API_SECRET if valid else "wrong-secret",
            "requests_per_second": 50,
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="segment", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        segment = self.segments.get(target.id)
        return {str(self.records_by_id[rid]["MAIL"]) for rid in segment.record_ids} if segment else set()

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            found = self._by_key(identifier)
            if found is not None:
                self.segments[target.id].record_ids.add(found)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            wanted = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
            self.segments[wanted] = Segment(wanted, name)

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"FIRSTNAME": f"Ann{number}v{version}", "NAME": "Martin", "OPTOUT": version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        return {str(rec["MAIL"]): dict(rec) for rec in self.records_by_id.values()}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"NAME": "x" * 101}, "exceeds the maximum length of 100"
