"""HubSpot CRM API v3/v4: object upserts by unique property, associations, list memberships.

- Upsert (target ``object``, id ``<objectType>[:<idProperty>]``): ``POST
  /crm/v3/objects/{objectType}/batch/upsert`` ``{"inputs": [{"id", "idProperty", "properties"}]}``
  (≤ 100). A 400 ``VALIDATION_ERROR`` refuses the whole batch (delivery splits it to find the row);
  a 207 names failed ids in ``errors[].context.ids``. Fields named ``associations.<toObjectType>``
  hold the HubSpot id of a record to associate (v4 default association, batch).
  Removal *delete* reads the record ids (``batch/read``) and archives them (``batch/archive``).
- Membership (target ``list``, ILS list id of a MANUAL/SNAPSHOT contact list): the batch's
  contacts are read by email (``batch/read`` with ``idProperty``; unknown ones come back in a 207
  ``OBJECT_NOT_FOUND`` error), then ``PUT /crm/v3/lists/{listId}/memberships/add|remove``.
- Rate: per-portal rolling 10-second window; ``X-HubSpot-RateLimit-Max/Remaining/Interval-Milliseconds``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.http import RateHeaders, parse_retry_after
from sluice.destinations.hubspot.config import HubSpotActivationDefaults, HubSpotConfig
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    RateLimit,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

LIST = "list"
OBJECT = "object"
CONTACTS = "contacts"
CONTACT_TYPE_ID = "0-1"
BATCH = 100
MEMBERSHIP_PAGE = 250
ASSOCIATION_PREFIX = "associations."
STANDARD_OBJECTS = {"contacts": "Contacts", "companies": "Companies", "deals": "Deals", "tickets": "Tickets"}


def hubspot_message(response: httpx.Response) -> str:
    """HubSpot's ``message`` (and category) of an error body."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        category = body.get("category") or body.get("errorType")
        return f"{category}: {body['message']}" if category else str(body["message"])
    return f"HTTP {response.status_code}"


def split_object(target_id: str, kind: IdentifierKind) -> tuple[str, str | None]:
    """``contacts:email`` → (``contacts``, ``email``); contacts default to ``email`` for email identifiers."""
    object_type, _, id_property = target_id.partition(":")
    if not id_property and kind is IdentifierKind.EMAIL and object_type == CONTACTS:
        id_property = "email"
    return object_type, id_property or None


class HubSpotConnector(Connector):
    """HubSpot CRM records and contact lists of one portal."""

    type_name = "hubspot"
    title = "HubSpot"
    description = (
        "Synchronize CRM objects (contacts, companies, deals, custom objects) by a unique property, "
        "with associations, and keep contact list memberships in step with a segment."
    )
    docs_url = (
        "https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts"
    )
    config_model = HubSpotConfig
    activation_defaults = HubSpotActivationDefaults
    standard_fields = (
        StandardField("firstname", "first_name", "First name"),
        StandardField("lastname", "last_name", "Last name"),
        StandardField("phone", "phone", "Phone number"),
        StandardField("city", "city", "City"),
        StandardField("country", "country", "Country/Region"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({LIST, OBJECT}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.EXTERNAL_ID, IdentifierKind.PLATFORM_ID}),
        batch_size=BATCH,
        concurrency=4,
        rate_limit=RateLimit(100, 10.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the list's memberships and remove those not in the audience",
    )
    config: HubSpotConfig

    @classmethod
    def base_url(cls, config: HubSpotConfig) -> str:
        return config.base_url or "https://api.hubapi.com"

    @classmethod
    def auth_headers(cls, config: HubSpotConfig) -> dict[str, str]:
        return {"Authorization": f"Bearer {config.access_token.get_secret_value()}"}

    @classmethod
    def rate_limit_for(cls, config: HubSpotConfig) -> RateLimit:
        return RateLimit(config.requests_per_10_seconds, 10.0)

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        try:
            remaining: int | None = int(response.headers["X-HubSpot-RateLimit-Remaining"])
        except (KeyError, ValueError):
            remaining = None
        try:
            interval: float | None = (
                float(response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"]) / 1000
            )
        except (KeyError, ValueError):
            interval = None
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        if response.status_code == 429 and retry_after is None:
            retry_after = 1.0 if interval is None else min(interval, 10.0)  # the rolling window frees up
        return RateHeaders(retry_after=retry_after, remaining=remaining, reset_in=interval)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"HubSpot refused the access token: {hubspot_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/account-info/v3/details")
        return f"connected to HubSpot portal {response.json().get('portalId')}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == OBJECT:
            return TargetPage([Target(OBJECT, key, name) for key, name in STANDARD_OBJECTS.items()])
        offset = int(cursor or 0)
        body = {"query": "", "offset": offset, "count": 100, "processingTypes": ["MANUAL", "SNAPSHOT"]}
        response = await self._call("POST", "/crm/v3/lists/search", json=body)
        answer = response.json()
        items = [self._list(item) for item in answer.get("lists") or []]
        following = int(answer.get("offset", offset + len(items)))
        return TargetPage(items, str(following) if answer.get("hasMore") and items else None)

    @staticmethod
    def _list(item: dict[str, Any]) -> Target:
        size = (item.get("additionalProperties") or {}).get("hs_list_size")
        return Target(LIST, str(item["listId"]), str(item["name"]), size=int(size) if size else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == OBJECT:
            return await self._ensure_object(spec)
        if spec.id:
            response = await self._call("GET", f"/crm/v3/lists/{spec.id}")
            if response.status_code == 404:
                raise ConfigError(f"HubSpot list {spec.id} does not exist")
            return self._checked_list(response.json()["list"])
        path = f"/crm/v3/lists/object-type-id/{CONTACT_TYPE_ID}/name/{quote(spec.name, safe='')}"
        response = await self._call("GET", path)
        if response.status_code < 400:
            return self._checked_list(response.json()["list"])
        if not spec.create_if_missing:
            raise ConfigError(f"HubSpot has no contact list named {spec.name!r}")
        body = {"name": spec.name, "objectTypeId": CONTACT_TYPE_ID, "processingType": "MANUAL"}
        response = await self._call("POST", "/crm/v3/lists", json=body)
        if response.status_code >= 400:
            raise ConfigError(f"HubSpot could not create list {spec.name!r}: {hubspot_message(response)}")
        return self._list(response.json()["list"])

    def _checked_list(self, item: dict[str, Any]) -> Target:
        if item.get("processingType") not in ("MANUAL", "SNAPSHOT"):
            raise ConfigError(
                f"HubSpot list {item.get('name')!r} is {item.get('processingType')}: only MANUAL or SNAPSHOT lists accept members"
            )
        if item.get("objectTypeId", CONTACT_TYPE_ID) != CONTACT_TYPE_ID:
            raise ConfigError(f"HubSpot list {item.get('name')!r} is not a contact list")
        return self._list(item)

    async def _ensure_object(self, spec: TargetSpec) -> Target:
        target_id = spec.id or spec.name
        object_type, id_property = split_object(target_id, spec.identifier_kind)
        if not object_type:
            raise ConfigError(
                "choose the HubSpot object type (contacts, companies, deals or a custom object id)"
            )
        if id_property and spec.identifier_kind is not IdentifierKind.PLATFORM_ID:
            response = await self._call("GET", f"/crm/v3/properties/{object_type}/{id_property}")
            if response.status_code == 404:
                raise ConfigError(f"HubSpot {object_type} have no property {id_property!r}")
            if not response.json().get("hasUniqueValue") and id_property != "email":
                raise ConfigError(
                    f"HubSpot property {object_type}.{id_property} is not unique: it cannot identify records"
                )
        name = STANDARD_OBJECTS.get(object_type, object_type)
        return Target(OBJECT, target_id, f"{name} by {id_property or 'record id'}")

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        allowed = {LIST: (OpKind.ADD, OpKind.REMOVE), OBJECT: (OpKind.UPSERT, OpKind.CLEAR, OpKind.DELETE)}
        if kind not in allowed.get(target.kind, ()):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"HubSpot {target.kind} targets do not support {kind}")
                for op in ops
            ]
        if target.kind == LIST:
            return await self._membership(target, ops)
        object_type, id_property = split_object(target.id, target.identifier_kind)
        if target.identifier_kind is IdentifierKind.PLATFORM_ID:
            id_property = None
        elif id_property is None:
            return [
                Outcome.of(
                    op,
                    OutcomeStatus.REJECTED,
                    f"name the unique property of {object_type} (target id '{object_type}:<property>')",
                )
                for op in ops
            ]
        if kind is OpKind.DELETE:
            return await self._archive(object_type, id_property, ops)
        return await self._upsert(object_type, id_property, ops)

    async def _read(
        self, object_type: str, id_property: str | None, values: list[str], show: list[str] | None = None
    ) -> tuple[dict[str, str], str]:
        """Unique value (emails lowercased) → record id, and HubSpot's message for the missing ones.

        With ``show`` (and no ``id_property``): record id → the value of ``show[0]``.
        """
        wanted = show or ([id_property] if id_property else [])
        body: dict[str, Any] = {"inputs": [{"id": v} for v in values], "properties": wanted}
        if id_property:
            body["idProperty"] = id_property
        response = await self._call("POST", f"/crm/v3/objects/{object_type}/batch/read", json=body)
        if response.status_code >= 400 and response.status_code != 404:
            raise RowRejected(hubspot_message(response))
        answer = response.json()
        found: dict[str, str] = {}
        for record in answer.get("results") or []:
            properties = record.get("properties") or {}
            if show and not id_property:
                if properties.get(show[0]):
                    found[str(record["id"])] = str(properties[show[0]])
                continue
            key = properties.get(id_property) if id_property else record.get("id")
            if key is not None:
                found[str(key).lower() if id_property == "email" else str(key)] = str(record["id"])
        missing = "; ".join(str(e.get("message")) for e in answer.get("errors") or []) or hubspot_message(
            response
        )
        return found, missing

    async def _membership(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = target.identifier_kind
        id_property = {IdentifierKind.EMAIL: "email", IdentifierKind.EXTERNAL_ID: "external_id"}.get(kind)
        keys = [op.identifier.lower() if kind is IdentifierKind.EMAIL else op.identifier for op in ops]
        found, missing = await self._read(CONTACTS, id_property, list(dict.fromkeys(keys)))
        adding = ops[0].kind is OpKind.ADD
        record_ids = sorted(set(found.values()))
        if record_ids:
            path = f"/crm/v3/lists/{target.id}/memberships/{'add' if adding else 'remove'}"
            response = await self._call("PUT", path, json=record_ids)
            if response.status_code == 404:
                raise ConfigError(f"HubSpot list {target.name!r} ({target.id}) no longer exists")
            if response.status_code >= 400:
                raise RowRejected(hubspot_message(response))
        outcomes = []
        for op, key in zip(ops, keys, strict=True):
            if key in found:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif adding:
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, missing))
            else:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {missing}"))
        return outcomes

    async def _upsert(self, object_type: str, id_property: str | None, ops: Sequence[Op]) -> list[Outcome]:
        inputs = []
        associations: list[tuple[int, str, str]] = []  # op index, to-object type, to-record id
        for index, op in enumerate(ops):
            properties: dict[str, str] = {}
            for name, value in op.fields.items():
                if name.startswith(ASSOCIATION_PREFIX):
                    if value not in (None, "") and op.kind is OpKind.UPSERT:
                        associations.append((index, name[len(ASSOCIATION_PREFIX) :], str(value)))
                    continue
                properties[name] = "" if op.kind is OpKind.CLEAR or value is None else _text(value)
            item: dict[str, Any] = {"id": op.identifier, "properties": properties}
            if id_property:
                item["idProperty"] = id_property
                properties[id_property] = op.identifier  # echoed in results: maps record ids back
            inputs.append(item)
        action = "upsert" if id_property else "update"
        response = await self._call(
            "POST", f"/crm/v3/objects/{object_type}/batch/{action}", json={"inputs": inputs}
        )
        if response.status_code == 404 and "object type" in hubspot_message(response).lower():
            raise ConfigError(f"HubSpot has no object type {object_type!r}")
        if response.status_code >= 400:
            raise RowRejected(hubspot_message(response))
        answer = response.json()
        failed: dict[str, str] = {}
        for error in answer.get("errors") or []:
            for value in (error.get("context") or {}).get("ids") or []:
                failed[str(value).lower()] = str(error.get("message"))
        record_ids: dict[str, str] = {}
        for record in answer.get("results") or []:
            key = (record.get("properties") or {}).get(id_property) if id_property else record.get("id")
            if key is not None:
                record_ids[str(key).lower()] = str(record["id"])
        outcomes = [
            Outcome.of(op, OutcomeStatus.REJECTED, failed[op.identifier.lower()])
            if op.identifier.lower() in failed
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for op in ops
        ]
        if associations:
            outcomes = await self._associate(object_type, ops, outcomes, associations, record_ids)
        return outcomes

    async def _associate(
        self,
        object_type: str,
        ops: Sequence[Op],
        outcomes: list[Outcome],
        associations: list[tuple[int, str, str]],
        record_ids: dict[str, str],
    ) -> list[Outcome]:
        by_type: dict[str, list[tuple[int, str, str]]] = {}
        for index, to_type, to_id in associations:
            from_id = record_ids.get(ops[index].identifier.lower())
            if from_id and outcomes[index].status is OutcomeStatus.DELIVERED:
                by_type.setdefault(to_type, []).append((index, from_id, to_id))
        for to_type, links in by_type.items():
            body = {"inputs": [{"from": {"id": f}, "to": {"id": t}} for _, f, t in links]}
            path = f"/crm/v4/associations/{object_type}/{to_type}/batch/associate/default"
            response = await self._call("POST", path, json=body)
            if response.status_code >= 400:
                message = f"record saved, association to {to_type} refused: {hubspot_message(response)}"
                for index, _, _ in links:
                    outcomes[index] = Outcome.of(ops[index], OutcomeStatus.REJECTED, message)
        return outcomes

    async def _archive(self, object_type: str, id_property: str | None, ops: Sequence[Op]) -> list[Outcome]:
        keys = [op.identifier.lower() if id_property == "email" else op.identifier for op in ops]
        found, _ = await self._read(object_type, id_property, list(dict.fromkeys(keys)))
        if found:
            body = {"inputs": [{"id": record} for record in sorted(set(found.values()))]}
            response = await self._call("POST", f"/crm/v3/objects/{object_type}/batch/archive", json=body)
            if response.status_code >= 400:
                raise RowRejected(hubspot_message(response))
        return [
            Outcome.of(
                op, OutcomeStatus.DELIVERED, "" if key in found else "nothing to delete: no such record"
            )
            for op, key in zip(ops, keys, strict=True)
        ]

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        id_property = {IdentifierKind.EMAIL: "email", IdentifierKind.EXTERNAL_ID: "external_id"}.get(
            target.identifier_kind
        )
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": MEMBERSHIP_PAGE}
            if after:
                params["after"] = after
            response = await self._call("GET", f"/crm/v3/lists/{target.id}/memberships", params=params)
            if response.status_code == 404:
                raise ConfigError(f"HubSpot list {target.id} does not exist")
            body = response.json()
            ids = [str(r["recordId"]) for r in body.get("results") or []]
            if id_property is None:
                for record in ids:
                    yield record
            else:
                for start in range(0, len(ids), BATCH):
                    found, _ = await self._read(CONTACTS, None, ids[start : start + BATCH], [id_property])
                    for value in found.values():
                        yield value
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return


def _text(value: Any) -> str:
    """HubSpot property values are strings (dates as ISO-8601, booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
