"""Contact and company upserts of the Intercom emulator (a mixin of :class:`IntercomEmulator`).

Faithful to: ``POST /contacts`` refusing a user whose email or ``external_id`` already belongs to a
user with 409 ``conflict`` "A contact matching those details already exists with id=…" (archived:
"An archived contact matching…", undone with ``POST /contacts/{id}/unarchive``), ``PUT`` and
``DELETE /contacts/{id}`` (404 "User Not Found"), ``POST /companies`` creating or updating by
``company_id``, ``GET /companies?company_id=`` (404 ``company_not_found``), ``DELETE
/companies/{id}``, and custom attributes that must exist as data attributes of their model with
values of its type (``GET /data_attributes?model=``).
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any, ClassVar

from fastapi import FastAPI, Request

from sluice.destinations.emulation import Emulator
from sluice.destinations.intercom.emulator_model import Company, Contact, IntercomError
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

CONTACT_STANDARD = frozenset(
    {"name", "phone", "avatar", "signed_up_at", "last_seen_at", "owner_id", "unsubscribed_from_emails"}
)
COMPANY_STANDARD = frozenset(
    {"name", "plan", "size", "website", "industry", "remote_created_at", "monthly_spend"}
)
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "float": (int, float),
    "boolean": (bool,),
    "date": (int,),
}


class RecordRoutes:
    """Routes and conformance hooks of the upsert services; expects ``contacts`` and ``_contact_json``."""

    upsert_specs: ClassVar[tuple[TargetSpec, ...]] = (
        TargetSpec("contact", identifier_kind=IdentifierKind.EMAIL),
        TargetSpec("company", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )
    contacts: dict[str, Contact]

    def init_records(self) -> None:
        self.companies: dict[str, Company] = {}
        #: model → custom data attribute name → data type
        self.data_attributes: dict[str, dict[str, str]] = {
            "contact": {"tier": "string", "loyalty_points": "integer"},
            "company": {"tier": "string", "seats": "integer"},
        }
        self._company_ids = itertools.count(6_100_001)

    def _contact_json(self, contact: Contact) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - provided by IntercomEmulator

    # -- validation ------------------------------------------------------------------------------

    def _attributes(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        """The attributes a create/update sets, after Intercom's checks."""
        standard = CONTACT_STANDARD if model == "contact" else COMPANY_STANDARD
        values = {k: v for k, v in body.items() if k in standard}
        custom = body.get("custom_attributes") or {}
        for name, value in custom.items():
            kind = self.data_attributes[model].get(name)
            if kind is None:
                raise IntercomError(400, "parameter_not_found", f"Custom attribute '{name}' does not exist")
            allowed = PYTHON_TYPES.get(kind, (str,))
            if value not in (None, "") and (
                not isinstance(value, allowed) or isinstance(value, bool) != (kind == "boolean")
            ):
                raise IntercomError(
                    400, "parameter_invalid", f"Custom attribute '{name}' must be of type {kind}"
                )
        return {**values, **custom}

    def _conflict(self, body: dict[str, Any]) -> Contact | None:
        email = str(body.get("email") or "").lower()
        external_id = body.get("external_id")
        for contact in self.contacts.values():
            if contact.role != "user":
                continue
            if (email and (contact.email or "").lower() == email) or (
                external_id and contact.external_id == external_id
            ):
                return contact
        return None

    def _contact(self, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise IntercomError(404, "not_found", "User Not Found")
        return contact

    def _company_json(self, company: Company) -> dict[str, Any]:
        standard = {k: v for k, v in company.attributes.items() if k in COMPANY_STANDARD}
        custom = {k: v for k, v in company.attributes.items() if k not in COMPANY_STANDARD}
        return {
            "type": "company",
            "id": company.id,
            "company_id": company.company_id,
            "app_id": "emulator",
            **standard,
            "custom_attributes": custom,
        }

    # -- routes ------------------------------------------------------------------------------

    def add_record_routes(self, app: FastAPI) -> None:
        @app.post("/contacts")
        async def create_contact(request: Request) -> dict[str, Any]:
            body = await Emulator.json_body(request) or {}
            role = str(body.get("role") or "user")
            if role == "user" and not (body.get("email") or body.get("external_id")):
                raise IntercomError(400, "parameter_invalid", "email or external_id is required for a user")
            existing = self._conflict(body) if role == "user" else None
            if existing is not None:
                state = "An archived contact" if existing.archived else "A contact"
                raise IntercomError(
                    409, "conflict", f"{state} matching those details already exists with id={existing.id}"
                )
            attributes = self._attributes("contact", body)
            contact = Contact(
                uuid.uuid4().hex[:24], body.get("email"), body.get("external_id"), role, attributes=attributes
            )
            self.contacts[contact.id] = contact
            return self._contact_json(contact)

        @app.put("/contacts/{contact_id}")
        async def update_contact(contact_id: str, request: Request) -> dict[str, Any]:
            contact = self._contact(contact_id)
            body = await Emulator.json_body(request) or {}
            contact.attributes.update(self._attributes("contact", body))
            contact.email = body.get("email", contact.email)
            contact.external_id = body.get("external_id", contact.external_id)
            return self._contact_json(contact)

        @app.delete("/contacts/{contact_id}")
        def delete_contact(contact_id: str) -> dict[str, Any]:
            self._contact(contact_id)
            del self.contacts[contact_id]
            return {"id": contact_id, "object": "contact", "deleted": True}

        @app.post("/contacts/{contact_id}/unarchive")
        def unarchive(contact_id: str) -> dict[str, Any]:
            contact = self._contact(contact_id)
            contact.archived = False
            return {"id": contact_id, "object": "contact", "archived": False}

        @app.get("/data_attributes")
        def data_attributes(model: str | None = None) -> dict[str, Any]:
            models = [model] if model else ["contact", "company"]
            data = [
                {
                    "type": "data_attribute",
                    "name": name,
                    "full_name": name,
                    "model": m,
                    "data_type": "string",
                    "custom": False,
                }
                for m in models
                for name in sorted(CONTACT_STANDARD if m == "contact" else COMPANY_STANDARD)
            ]
            data += [
                {
                    "type": "data_attribute",
                    "id": 10_000 + n,
                    "name": name,
                    "full_name": f"custom_attributes.{name}",
                    "model": m,
                    "data_type": kind,
                    "custom": True,
                }
                for m in models
                for n, (name, kind) in enumerate(self.data_attributes.get(m, {}).items())
            ]
            return {"type": "list", "data": data}

        @app.post("/companies")
        async def create_or_update_company(request: Request) -> dict[str, Any]:
            body = await Emulator.json_body(request) or {}
            company_id = str(body.get("company_id") or "")
            if not company_id:
                raise IntercomError(400, "bad_request", "company_id is required")
            attributes = self._attributes("company", body)
            company = next((c for c in self.companies.values() if c.company_id == company_id), None)
            if company is None:
                company = Company(str(next(self._company_ids)), company_id)
                self.companies[company.id] = company
            company.attributes.update(attributes)
            return self._company_json(company)

        @app.get("/companies")
        def retrieve_company(company_id: str | None = None) -> dict[str, Any]:
            for company in self.companies.values():
                if company.company_id == company_id:
                    return self._company_json(company)
            raise IntercomError(404, "company_not_found", "Company Not Found")

        @app.delete("/companies/{company_id}")
        def delete_company(company_id: str) -> dict[str, Any]:
            if company_id not in self.companies:
                raise IntercomError(404, "company_not_found", "Company Not Found")
            del self.companies[company_id]
            return {"id": company_id, "object": "company", "deleted": True}

    # -- upsert conformance hooks ----------------------------------------------------------------

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        if target.kind == "company":
            return {"plan": f"plan{number}v{version}", "tier": f"t{number}v{version}"}
        return {"name": f"Ann {number}v{version}", "loyalty_points": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        if target.kind == "company":
            return {c.company_id: dict(c.attributes) for c in self.companies.values()}
        by_external = target.identifier_kind is IdentifierKind.EXTERNAL_ID
        return {
            key: dict(c.attributes)
            for c in self.contacts.values()
            if c.role == "user" and not c.archived and (key := (c.external_id if by_external else c.email))
        }

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        if target.kind == "company":
            return {"seats": "many"}, "must be of type integer"
        return {"loyalty_points": "lots"}, "must be of type integer"
