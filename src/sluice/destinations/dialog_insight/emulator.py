"""A local fake of the Dialog Insight OFC4 web services Sluice uses, under ``/webservices/ofc4``.

Faithful to what public traffic shows (recorded ``Contacts.Merge`` and ``Contacts.Delete`` answers,
public client code): ``POST {service}.ashx?method=…`` with ``AuthKey {idKey, Key}`` and ``idProject``
in the JSON body, HTTP 200 with ``{"Success", "ErrorCode", "ErrorMessage", "idRequest", "Trace"}``,
Merge records ``{"ID": {"key_f_EMail": …}, "Data": {…}}`` with ``MergeOptions``, answered with
``CreatedRecords``/``UpdatedRecords`` and one result per record (``IdRecord``, ``Status``,
``ValidationResult``, ``Message``, ``ID``), Delete by a ``FieldClause`` with ``MaxRows`` answered
``DeletedRecords``, ``projects.ashx?method=Get`` → ``ProjectInfo.ProjectFields``.
Inferred and stated in README.md: the error codes (``AuthenticationFailed``, ``InvalidProject``,
``InvalidField``, ``TooManyRecords``), per-record ``ValidationResult`` values other than ``OK``, the
500-record cap, and a 429 with ``Retry-After`` when requests come too fast.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

KEY_ID = 3103
API_KEY = "di-emulator-key-0000"
PROJECT_ID = 781
MAX_RECORDS = 500
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: project fields: code → (data type, max length)
FIELDS: dict[str, tuple[str, int]] = {
    "f_EMail": ("Email", 255),
    "f_FirstName": ("Text", 50),
    "f_LastName": ("Text", 50),
    "f_MobilePhone": ("Text", 20),
    "f_DateOfBirth": ("Date", 0),
    "f_CustomerId": ("Text", 50),
}


class DialogInsightEmulator(Emulator):
    """Project 781 keyed by ``f_EMail``."""

    name = "dialog_insight"
    batch_limit = MAX_RECORDS
    unknown_contact_message = "not applicable: Merge creates missing contacts"
    upsert_specs = (TargetSpec(kind="contacts", identifier_kind=IdentifierKind.EMAIL),)

    def __init__(self, **kwargs: Any) -> None:
        self.contacts: dict[int, dict[str, Any]] = {}
        #: lower-cased f_EMail → contact id (the project's primary key)
        self.key_index: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._requests = itertools.count(18_945_355)
        super().__init__(**kwargs)

    def rate_limited(self) -> Response:
        return JSONResponse(
            {"Success": False, "ErrorCode": "TooManyRequests", "ErrorMessage": "Too many requests"},
            429,
            headers={"Retry-After": "1"},
        )

    def server_error(self) -> Response:
        return JSONResponse(
            {"Success": False, "ErrorCode": "InternalError", "ErrorMessage": "Internal error"}, 500
        )

    def _answer(
        self,
        service: str,
        success: bool = True,
        code: str | None = None,
        message: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        trace = f"Beginning request\r\nTargeted service: {service}\r\nExecuting method completed with success"
        return {
            "Success": success,
            "ErrorCode": code,
            "ErrorMessage": message,
            **extra,
            "idRequest": next(self._requests),
            "Trace": trace,
        }

    def _auth_refusal(self, service: str, body: Any) -> dict[str, Any] | None:
        auth = body.get("AuthKey") if isinstance(body, dict) else None
        if not isinstance(auth, dict) or auth.get("idKey") != KEY_ID or auth.get("Key") != API_KEY:
            return self._answer(
                service, False, "AuthenticationFailed", "Invalid authentication key (AuthKey)"
            )
        if body.get("idProject") != PROJECT_ID:
            return self._answer(
                service, False, "InvalidProject", f"Project {body.get('idProject')} not found"
            )
        return None

    def find(self, email: str) -> int | None:
        return self.key_index.get(email.lower())

    def _insert(self, email: str) -> int:
        contact_id = next(self._ids)
        self.contacts[contact_id] = {"f_EMail": email}
        self.key_index[email.lower()] = contact_id
        return contact_id

    @staticmethod
    def _invalid(code: str, value: Any) -> str | None:
        kind, length = FIELDS[code]
        if value is None or value == "":
            return None
        if kind == "Email" and not EMAIL.fullmatch(str(value)):
            return f"The value '{value}' is not a valid email address for field {code}"
        if kind == "Date":
            try:
                dt.date.fromisoformat(str(value)[:10])
            except ValueError:
                return f"The value '{value}' is not valid for field {code} (Date)"
        if length and len(str(value)) > length:
            return f"The value of field {code} exceeds {length} characters"
        return None

    def _merge(self, body: dict[str, Any]) -> dict[str, Any]:
        service = "Contacts.Merge"
        records = body.get("Records") or []
        options = body.get("MergeOptions") or {}
        if len(records) > MAX_RECORDS:
            self.violation(f"{len(records)} records in one Contacts.Merge")
            return self._answer(
                service, False, "TooManyRecords", f"A maximum of {MAX_RECORDS} records is allowed"
            )
        unknown = sorted({code for r in records for code in (r.get("Data") or {})} - set(FIELDS))
        if unknown:
            return self._answer(
                service, False, "InvalidField", f"Field {unknown[0]} does not exist in project {PROJECT_ID}"
            )
        created = updated = 0
        results = []
        for record in records:
            key = str((record.get("ID") or {}).get("key_f_EMail") or "")
            data = dict(record.get("Data") or {})
            problem = next((p for code, value in data.items() if (p := self._invalid(code, value))), None)
            problem = (
                problem
                or self._invalid("f_EMail", key)
                or (None if key else "The key field f_EMail is required")
            )
            existing = self.find(key) if key else None
            if problem is None and existing is None and not options.get("AllowInsert", True):
                problem = "No matching contact and AllowInsert is false"
            result = {
                "IdRecord": existing,
                "Status": "Rejected",
                "ValidationResult": "InvalidValue",
                "Message": problem,
                "ID": {"key_f_EMail": key},
                "Data": None,
                "Record": None,
            }
            if problem is None:
                if existing is None:
                    existing = self._insert(key)
                    created += 1
                    status = "Created"
                else:
                    updated += 1
                    status = "Updated"
                self.contacts[existing].update(data)
                result.update(IdRecord=existing, Status=status, ValidationResult="OK", Message=None)
            results.append(result)
        return self._answer(service, CreatedRecords=created, UpdatedRecords=updated, Records=results)

    def _delete(self, body: dict[str, Any]) -> dict[str, Any]:
        clause = body.get("Clause") or {}
        field = (clause.get("Field") or {}).get("Name")
        if (
            clause.get("$type") != "FieldClause"
            or clause.get("TypeOperator") != "Equal"
            or field not in FIELDS
        ):
            return self._answer("Contacts.Delete", False, "InvalidClause", "The clause is not valid")
        wanted = str(clause.get("ComparisonValue", "")).lower()
        matches = [i for i, c in self.contacts.items() if str(c.get(field, "")).lower() == wanted]
        for contact_id in matches[: int(body.get("MaxRows") or len(matches))]:
            self.key_index.pop(str(self.contacts.pop(contact_id)["f_EMail"]).lower(), None)
        return self._answer(
            "Contacts.Delete", DeletedRecords=min(len(matches), int(body.get("MaxRows") or len(matches)))
        )

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/webservices/ofc4/{service}.ashx")
        async def web_service(service: str, request: Request) -> JSONResponse:
            method = request.query_params.get("method", "")
            name = f"{service.capitalize()}.{method}"
            body = await self.json_body(request)
            refusal = self._auth_refusal(name, body)
            if refusal is not None:
                return JSONResponse(refusal)
            if name == "Contacts.Merge":
                return JSONResponse(self._merge(body))
            if name == "Contacts.Delete":
                return JSONResponse(self._delete(body))
            if name == "Projects.Get":
                fields = [
                    {"Code": code, "DataType": kind, "Length": length}
                    for code, (kind, length) in FIELDS.items()
                ]
                return JSONResponse(
                    self._answer(name, ProjectInfo={"idProject": PROJECT_ID, "ProjectFields": fields})
                )
            return JSONResponse(self._answer(name, False, "UnknownMethod", f"Unknown service method {name}"))

    def state(self) -> dict[str, Any]:
        return {"contacts": len(self.contacts)}

    # -- conformance hooks -----------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            if self.find(identifier) is None:
                self._insert(identifier)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "key_id": KEY_ID,
            "api_key": API_KEY if valid else "wrong-key",
            "project_id": PROJECT_ID,
            "base_url": f"{base_url.rstrip('/')}/webservices/ofc4",
            "requests_per_second": 20,
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="contacts")

    def members(self, target: Target) -> set[str]:
        return {str(c["f_EMail"]) for c in self.contacts.values()}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.seed_contacts(identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        """Dialog Insight has one contacts target per project."""

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {
            "f_FirstName": f"Ann{number}v{version}",
            "f_LastName": "Martin",
            "f_DateOfBirth": f"199{version}-01-0{1 + number % 9}",
        }

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        return {str(c["f_EMail"]): dict(c) for c in self.contacts.values()}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"f_DateOfBirth": "someday"}, "is not valid for field f_DateOfBirth (Date)"
