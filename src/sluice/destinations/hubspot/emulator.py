"""A local fake of the HubSpot CRM API (the parts Sluice uses).

Faithful to: ``Authorization: Bearer`` (401 ``INVALID_AUTHENTICATION``), error bodies
``{"status": "error", "message", "correlationId", "category"}``, batch read / upsert / update /
archive of ≤ 100 inputs (400 beyond), upsert only by a property with ``hasUniqueValue``, a whole
batch refused with 400 ``VALIDATION_ERROR`` on an unknown property, 207 multi-status with
``OBJECT_NOT_FOUND`` errors (``context.ids``) for records that do not exist, ILS lists (MANUAL /
SNAPSHOT / DYNAMIC) with ``memberships/add|remove`` answering ``recordsIdsAdded`` /
``recordIdsRemoved`` / ``recordIdsMissing``, membership pages (``after`` cursor, ≤ 250), list search
(offset, ``hasMore``), v4 default associations, and a rolling 10-second window per portal reported
in ``X-HubSpot-RateLimit-Max/Remaining/Interval-Milliseconds``, 429 ``RATE_LIMIT`` when spent.
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

TOKEN = "pat-na1-emulator-0000"  # noqa: S105 - the emulator's fixed fake credential
BATCH_LIMIT = 100
MEMBERSHIP_PAGE = 250
WINDOW_SECONDS = 10.0
NOT_FOUND = "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."
PROPERTIES: dict[str, dict[str, bool]] = {  # object type → property → hasUniqueValue
    "contacts": {
        "email": True,
        "external_id": True,
        "firstname": False,
        "lastname": False,
        "phone": False,
        "city": False,
        "country": False,
    },
    "companies": {"company_uid": True, "name": False, "domain": False, "city": False, "country": False},
    "deals": {"deal_uid": True, "dealname": False, "amount": False, "dealstage": False, "pipeline": False},
    "2-1001": {"ref": True, "name": False, "status": False},
}
TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals"}


@dataclass
class HList:
    list_id: str
    name: str
    processing_type: str = "MANUAL"
    object_type_id: str = "0-1"
    members: list[str] = field(default_factory=list)  # record ids, in join order


class HubSpotProblem(Exception):
    def __init__(self, status: int, category: str, message: str) -> None:
        self.status, self.category, self.message = status, category, message


def problem(status: int, category: str, message: str, **extra: Any) -> JSONResponse:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return JSONResponse(body, status)


class HubSpotEmulator(Emulator):
    """One HubSpot portal; ``limit_per_window`` calls per rolling 10 s."""

    name = "hubspot"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = "Could not get some CONTACT objects"
    upsert_specs = (
        TargetSpec(kind="object", id="contacts", identifier_kind=IdentifierKind.EMAIL),
        TargetSpec(kind="object", id="companies:company_uid", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )

    def __init__(self, *, limit_per_window: int = 190, **kwargs: Any) -> None:
        self.token = TOKEN
        self.objects: dict[str, dict[str, dict[str, str]]] = {t: {} for t in PROPERTIES}  # type → id → props
        self.lists: dict[str, HList] = {}
        self.associations: set[tuple[str, str, str, str]] = set()  # from type, from id, to type, to id
        self.limit_per_window = limit_per_window
        self.calls: deque[float] = deque()
        self._ids = itertools.count(51)
        super().__init__(**kwargs)

    # -- rate window and errors ------------------------------------------------------------

    def _remaining(self) -> int:
        now = self.clock()
        while self.calls and now - self.calls[0] >= WINDOW_SECONDS:
            self.calls.popleft()
        return max(self.limit_per_window - len(self.calls), 0)

    def response_headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(self.limit_per_window),
            "X-HubSpot-RateLimit-Remaining": str(self._remaining()),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_SECONDS * 1000)),
        }

    def rate_limited(self) -> Response:
        response = problem(
            429,
            "RATE_LIMITS",
            "You have reached your ten_secondly_rolling limit.",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        )
        response.headers.update({**self.response_headers(), "X-HubSpot-RateLimit-Remaining": "0"})
        return response

    def server_error(self) -> Response:
        return problem(500, "INTERNAL_ERROR", "internal error")

    async def gate(self, request: Request) -> Response | None:
        if self._remaining() <= 0:
            return self.rate_limited()
        self.calls.append(self.clock())
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return problem(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        return None

    # -- helpers -----------------------------------------------------------------------------

    def _type(self, object_type: str) -> dict[str, dict[str, str]]:
        object_type = TYPE_IDS.get(object_type, object_type)
        if object_type not in self.objects:
            raise HubSpotProblem(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {object_type}")
        return self.objects[object_type]

    def _find(self, object_type: str, id_property: str | None, value: str) -> str | None:
        records = self._type(object_type)
        if not id_property or id_property == "hs_object_id":
            return value if value in records else None
        for record_id, props in records.items():
            stored = props.get(id_property)
            if stored is not None and (
                stored.lower() == value.lower() if id_property == "email" else stored == value
            ):
                return record_id
        return None

    def _record_json(
        self, record_id: str, props: dict[str, str], wanted: list[str] | None = None
    ) -> dict[str, Any]:
        shown = {k: v for k, v in props.items() if wanted is None or k in wanted}
        return {
            "id": record_id,
            "properties": {**shown, "hs_object_id": record_id},
            "archived": False,
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z",
        }

    def _inputs(self, body: Any) -> list[dict[str, Any]]:
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HubSpotProblem(400, "VALIDATION_ERROR", "Invalid input JSON: 'inputs' is required")
        if len(inputs) > BATCH_LIMIT:
            self.violation(f"batch of {len(inputs)} inputs")
            raise HubSpotProblem(400, "VALIDATION_ERROR", f"Batch input cannot exceed {BATCH_LIMIT} inputs")
        return inputs

    def _list(self, list_id: str) -> HList:
        found = self.lists.get(list_id)
        if found is None:
            raise HubSpotProblem(404, "OBJECT_NOT_FOUND", f"List {list_id} does not exist.")
        return found

    def _list_json(self, item: HList) -> dict[str, Any]:
        return {
            "listId": item.list_id,
            "name": item.name,
            "processingType": item.processing_type,
            "objectTypeId": item.object_type_id,
            "additionalProperties": {"hs_list_size": str(len(item.members))},
        }

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(HubSpotProblem)
        async def _problem(_: Request, exc: HubSpotProblem) -> JSONResponse:
            return problem(exc.status, exc.category, exc.message)

        @app.get("/account-info/v3/details")
        async def details() -> dict[str, Any]:
            return {
                "portalId": 62515,
                "timeZone": "Europe/Paris",
                "companyCurrency": "EUR",
                "dataHostingLocation": "eu1",
            }

        @app.get("/crm/v3/properties/{object_type}/{name}")
        async def property_info(object_type: str, name: str) -> dict[str, Any]:
            known = PROPERTIES.get(TYPE_IDS.get(object_type, object_type))
            if known is None or name not in known:
                raise HubSpotProblem(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
            return {"name": name, "type": "string", "fieldType": "text", "hasUniqueValue": known[name]}

        @app.post("/crm/v3/objects/{object_type}/batch/read")
        async def batch_read(object_type: str, request: Request) -> JSONResponse:
            body = await self.json_body(request)
            inputs = self._inputs(body)
            id_property = body.get("idProperty")
            results, missing = [], []
            for item in inputs:
                record_id = self._find(object_type, id_property, str(item.get("id")))
                if record_id is None:
                    missing.append(str(item.get("id")))
                else:
                    results.append(
                        self._record_json(
                            record_id, self._type(object_type)[record_id], body.get("properties")
                        )
                    )
            answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
            if missing:
                noun = TYPE_IDS.get(object_type, object_type).rstrip("s").upper()
                message = NOT_FOUND.replace("CONTACT", noun)
                answer["errors"] = [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": message,
                        "context": {"ids": missing},
                    }
                ]
                answer["numErrors"] = 1
            return JSONResponse(answer, 207 if missing else 200)

        async def write(object_type: str, request: Request, upsert: bool) -> JSONResponse:
            records = self._type(object_type)
            inputs = self._inputs(await self.json_body(request))
            known = PROPERTIES[TYPE_IDS.get(object_type, object_type)]
            for item in inputs:  # HubSpot validates the whole batch before writing any record
                unknown = [name for name in item.get("properties") or {} if name not in known]
                if unknown:
                    raise HubSpotProblem(
                        400,
                        "VALIDATION_ERROR",
                        f'Property values were not valid: Property "{unknown[0]}" does not exist',
                    )
                if upsert and not known.get(str(item.get("idProperty")), False):
                    raise HubSpotProblem(
                        400, "VALIDATION_ERROR", f"{item.get('idProperty')} is not a unique property"
                    )
            results, missing = [], []
            for item in inputs:
                record_id = self._find(
                    object_type, item.get("idProperty") if upsert else None, str(item["id"])
                )
                if record_id is None and not upsert:
                    missing.append(str(item["id"]))
                    continue
                if record_id is None:
                    record_id = str(next(self._ids))
                    records[record_id] = {str(item["idProperty"]): str(item["id"])}
                records[record_id].update({k: str(v) for k, v in (item.get("properties") or {}).items()})
                results.append(self._record_json(record_id, records[record_id]))
            answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
            if missing:
                answer["errors"] = [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "Object not found",
                        "context": {"ids": missing},
                    }
                ]
            return JSONResponse(answer, 207 if missing else 200)

        @app.post("/crm/v3/objects/{object_type}/batch/upsert")
        async def batch_upsert(object_type: str, request: Request) -> JSONResponse:
            return await write(object_type, request, True)

        @app.post("/crm/v3/objects/{object_type}/batch/update")
        async def batch_update(object_type: str, request: Request) -> JSONResponse:
            return await write(object_type, request, False)

        @app.post("/crm/v3/objects/{object_type}/batch/archive")
        async def batch_archive(object_type: str, request: Request) -> Response:
            records = self._type(object_type)
            for item in self._inputs(await self.json_body(request)):
                records.pop(str(item.get("id")), None)
            return Response(status_code=204)

        @app.post("/crm/v4/associations/{from_type}/{to_type}/batch/associate/default")
        async def associate(from_type: str, to_type: str, request: Request) -> JSONResponse:
            inputs = self._inputs(await self.json_body(request))
            for item in inputs:
                from_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
                if from_id not in self._type(from_type) or to_id not in self._type(to_type):
                    raise HubSpotProblem(400, "VALIDATION_ERROR", f"No {to_type} with id {to_id}")
                self.associations.add((from_type, from_id, to_type, to_id))
            return JSONResponse({"status": "COMPLETE", "results": []}, 200)

        @app.post("/crm/v3/lists")
        async def create_list(request: Request) -> dict[str, Any]:
            body = await self.json_body(request)
            if not body.get("name") or body.get("processingType") not in ("MANUAL", "SNAPSHOT", "DYNAMIC"):
                raise HubSpotProblem(
                    400, "VALIDATION_ERROR", "name, objectTypeId and processingType are required"
                )
            if any(item.name == body["name"] for item in self.lists.values()):
                raise HubSpotProblem(400, "VALIDATION_ERROR", f"A list named {body['name']} already exists")
            item = HList(
                str(next(self._ids)),
                str(body["name"]),
                str(body["processingType"]),
                str(body.get("objectTypeId", "0-1")),
            )
            self.lists[item.list_id] = item
            return {"list": self._list_json(item)}

        @app.post("/crm/v3/lists/search")
        async def search_lists(request: Request) -> dict[str, Any]:
            body = await self.json_body(request)
            offset = int(body.get("offset") or 0)
            count = self.page_size(int(body.get("count") or 20), 500)
            types = body.get("processingTypes")
            query = str(body.get("query") or "").lower()
            chosen = [
                i
                for i in self.lists.values()
                if (not types or i.processing_type in types) and query in i.name.lower()
            ]
            page = chosen[offset : offset + count]
            return {
                "lists": [self._list_json(i) for i in page],
                "offset": offset + len(page),
                "hasMore": offset + len(page) < len(chosen),
                "total": len(chosen),
            }

        @app.get("/crm/v3/lists/object-type-id/{type_id}/name/{name}")
        async def list_by_name(type_id: str, name: str) -> dict[str, Any]:
            for item in self.lists.values():
                if item.name == name and item.object_type_id == type_id:
                    return {"list": self._list_json(item)}
            raise HubSpotProblem(404, "OBJECT_NOT_FOUND", f"List with name {name} does not exist.")

        @app.get("/crm/v3/lists/{list_id}")
        async def one_list(list_id: str) -> dict[str, Any]:
            return {"list": self._list_json(self._list(list_id))}

        async def change(list_id: str, request: Request, adding: bool) -> dict[str, Any]:
            item = self._list(list_id)
            if item.processing_type == "DYNAMIC":
                raise HubSpotProblem(
                    400, "VALIDATION_ERROR", f"List {list_id} is DYNAMIC: memberships cannot be changed"
                )
            ids = [str(i) for i in await self.json_body(request) or []]
            contacts = self.objects["contacts"]
            changed, missing = [], []
            for record in ids:
                if record not in contacts:
                    missing.append(record)
                elif adding and record not in item.members:
                    item.members.append(record)
                    changed.append(record)
                elif not adding and record in item.members:
                    item.members.remove(record)
                    changed.append(record)
            return {
                "recordsIdsAdded" if adding else "recordIdsAdded": changed if adding else [],
                "recordIdsRemoved": [] if adding else changed,
                "recordIdsMissing": missing,
            }

        @app.put("/crm/v3/lists/{list_id}/memberships/add")
        async def add_members(list_id: str, request: Request) -> dict[str, Any]:
            return await change(list_id, request, True)

        @app.put("/crm/v3/lists/{list_id}/memberships/remove")
        async def remove_members(list_id: str, request: Request) -> dict[str, Any]:
            return await change(list_id, request, False)

        @app.get("/crm/v3/lists/{list_id}/memberships")
        async def memberships(list_id: str, request: Request) -> dict[str, Any]:
            members = self._list(list_id).members
            size = self.page_size(int(request.query_params.get("limit", 100)), MEMBERSHIP_PAGE)
            after = request.query_params.get("after")
            start = int(after) if after and after.isdigit() else 0
            page = members[start : start + size]
            answer: dict[str, Any] = {
                "results": [{"recordId": r, "membershipTimestamp": "2026-01-01T00:00:00Z"} for r in page]
            }
            if start + size < len(members):
                answer["paging"] = {"next": {"after": str(start + size)}}
            return answer

    def state(self) -> dict[str, Any]:
        return {
            "records": {t: len(r) for t, r in self.objects.items()},
            "lists": [
                {"listId": i.list_id, "name": i.name, "members": len(i.members)} for i in self.lists.values()
            ],
            "associations": len(self.associations),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        contacts = self.objects["contacts"]
        known = {
            _seed_key(key, record.get(key))
            for record in contacts.values()
            for key in ("email", "external_id")
        }
        for identifier in identifiers:
            key = "email" if "@" in identifier else "external_id"
            if _seed_key(key, identifier) not in known:  # one pass, not a scan per contact (100k in the demo)
                known.add(_seed_key(key, identifier))
                contacts[str(next(self._ids))] = {key: identifier}

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "access_token": self.token if valid else "pat-na1-wrong",
            "base_url": base_url.rstrip("/"),
            "requests_per_10_seconds": self.limit_per_window,
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        contacts = self.objects["contacts"]
        return {contacts[r].get("email") or r for r in self.lists[target.id].members if r in contacts}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            record = self._find("contacts", "email", identifier)
            if record and record not in self.lists[target.id].members:
                self.lists[target.id].members.append(record)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            item = HList(str(next(self._ids)), name)
            self.lists[item.list_id] = item

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        if target.id.startswith("companies"):
            return {"name": f"Acme {number} v{version}", "city": "Lyon"}
        return {"firstname": f"Ann{number}v{version}", "city": "Lyon"}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        object_type, _, id_property = target.id.partition(":")
        key = id_property or "email"
        return {props[key]: dict(props) for props in self.objects[object_type].values() if props.get(key)}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"no_such_property": "x"}, 'Property "no_such_property" does not exist'


def _seed_key(key: str, value: object) -> tuple[str, str | None]:
    """How seeding recognises an existing contact: e-mails whatever their case."""
    if value is None:
        return (key, None)
    return (key, str(value).lower() if key == "email" else str(value))
