"""Selligent Marketing Cloud / Marigold Engage API (``{server}/Portal/Api``).

- Upsert (target ``list``, a profile list by API name): ``POST /organizations/{org}/lists/{list}/data/load``
  ``{"mode": "InsertOrUpdate", "keys": [key field], "fields": […], "data": [≤ 1000 records]}`` →
  ``{"inserted", "updated", "errors": [{"index", "message"}]}`` (per-record errors keep Selligent's
  words); *clear* loads the mapped fields empty; *delete* is ``POST …/data/delete`` with the keys.
- Membership (target ``segment``, a static segment of the configured profile list):
  ``POST …/lists/{list}/segments/{segment}/contacts/add`` and ``…/remove`` ``{"keys", "data"}`` →
  ``{"errors": [{"index", "message"}]}``; a contact missing from the list is an error for that
  record ("No record found …"). Members are read with ``GET …/segments/{segment}/contacts``.
- Auth: ``X-ApiKey: {key}:{secret}``; errors ``{"Message": …}`` (ASP.NET Web API).
Which of these paths and shapes are documented and which inferred: see README.md.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
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
from sluice.destinations.selligent.config import SelligentActivationDefaults, SelligentConfig

LIST = "list"
SEGMENT = "segment"
MAX_RECORDS = 1000
PAGE = 100


def selligent_message(response: httpx.Response) -> str:
    """Selligent's ``Message`` (ASP.NET Web API error body)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and (body.get("Message") or body.get("message")):
        return str(body.get("Message") or body.get("message"))
    return f"HTTP {response.status_code}"


def api_name(name: str) -> str:
    """A segment API name from its display name (upper case letters, digits and underscores)."""
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")[:50] or "SLUICE_SEGMENT"


class SelligentConnector(Connector):
    """Marigold Engage (Selligent) profile lists and static segments."""

    type_name = "selligent"
    title = "Selligent (Marigold Engage)"
    description = "Upsert contacts into a profile list and keep static segments in step with Sluice segments."
    docs_url = "https://docs.tealium.com/server-side-connectors/selligent-by-marigold-connector/"
    config_model = SelligentConfig
    activation_defaults = SelligentActivationDefaults
    standard_fields = (
        StandardField("FIRSTNAME", "first_name", "First name"),
        StandardField("NAME", "last_name", "Last name"),
        StandardField("MOBILE", "phone", "Mobile number"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({LIST, SEGMENT}),
        identifiers=frozenset({IdentifierKind.EMAIL}),
        batch_size=MAX_RECORDS,
        concurrency=2,
        rate_limit=RateLimit(5, 1.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the segment's contacts and remove those not in the audience",
    )
    config: SelligentConfig

    @classmethod
    def base_url(cls, config: SelligentConfig) -> str:
        return f"{config.server_url.rstrip('/')}/Portal/Api"

    @classmethod
    def auth_headers(cls, config: SelligentConfig) -> dict[str, str]:
        return {
            "X-ApiKey": f"{config.api_key}:{config.api_secret.get_secret_value()}",
            "Accept": "application/json",
        }

    @classmethod
    def rate_limit_for(cls, config: SelligentConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    @property
    def org(self) -> str:
        return f"/organizations/{quote(self.config.organization, safe='')}"

    def _list_path(self, list_name: str | None = None) -> str:
        return f"{self.org}/lists/{quote(list_name or self.config.list_api_name, safe='')}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Selligent refused the API key: {selligent_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", self.org)
        if response.status_code == 404:
            raise ConfigError(f"Selligent has no organization {self.config.organization!r}")
        return (
            f"connected to Selligent organization {response.json().get('name', self.config.organization)!r}"
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        skip = int(cursor or 0)
        path, key = (
            (f"{self._list_path()}/segments", "segments")
            if kind == SEGMENT
            else (f"{self.org}/lists", "lists")
        )
        response = await self._call("GET", path, params={"skip": skip, "take": PAGE})
        if response.status_code >= 400:
            raise ConfigError(f"Selligent could not list {key}: {selligent_message(response)}")
        body = response.json()
        items = [self._target(kind or LIST, item) for item in body.get(key) or []]
        following = skip + len(items)
        return TargetPage(items, str(following) if items and following < int(body.get("total", 0)) else None)

    def _target(self, kind: str, item: dict[str, Any]) -> Target:
        parent = self.config.list_api_name if kind == SEGMENT else None
        return Target(
            kind, str(item["api_name"]), str(item.get("name") or item["api_name"]), parent_id=parent
        )

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == LIST:
            name = spec.id or spec.name or self.config.list_api_name
            response = await self._call("GET", self._list_path(name))
            if response.status_code >= 400:
                raise ConfigError(f"Selligent list {name!r}: {selligent_message(response)}")
            return self._target(LIST, response.json())
        wanted = spec.id or api_name(spec.name)
        cursor: str | None = None
        while True:
            page = await self.list_targets(SEGMENT, cursor)
            for target in page.items:
                if target.id == wanted or (not spec.id and target.name == spec.name):
                    return target
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if spec.id or not spec.create_if_missing:
            raise ConfigError(
                f"Selligent list {self.config.list_api_name} has no segment {spec.id or spec.name!r}"
            )
        body = {"name": spec.name, "api_name": wanted, "type": "Static"}
        response = await self._call("POST", f"{self._list_path()}/segments", json=body)
        if response.status_code >= 400:
            raise ConfigError(
                f"Selligent could not create segment {spec.name!r}: {selligent_message(response)}"
            )
        return self._target(SEGMENT, {"api_name": wanted, "name": spec.name})

    # -- delivery --------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        key = self.config.key_field
        if target.kind == SEGMENT and kind in (OpKind.ADD, OpKind.REMOVE):
            verb = "add" if kind is OpKind.ADD else "remove"
            path = f"{self._list_path(target.parent_id)}/segments/{quote(target.id, safe='')}/contacts/{verb}"
            body: dict[str, Any] = {"keys": [key], "data": [{key: op.identifier} for op in ops]}
        elif target.kind == LIST and kind is OpKind.DELETE:
            path = f"{self._list_path(target.id)}/data/delete"
            body = {"keys": [key], "data": [{key: op.identifier} for op in ops]}
        elif target.kind == LIST and kind in (OpKind.UPSERT, OpKind.CLEAR):
            path = f"{self._list_path(target.id)}/data/load"
            records = [self._record(op) for op in ops]
            fields = sorted({name for record in records for name in record})
            body = {"mode": "InsertOrUpdate", "keys": [key], "fields": fields, "data": records}
        else:
            message = f"Selligent {target.kind} targets do not support {kind}"
            return [Outcome.of(op, OutcomeStatus.REJECTED, message) for op in ops]
        response = await self._call("POST", path, json=body)
        if response.status_code == 404:
            raise ConfigError(f"Selligent {target.kind} {target.id!r}: {selligent_message(response)}")
        if response.status_code >= 400:
            raise RowRejected(selligent_message(response))
        errors = {int(e["index"]): str(e.get("message", "")) for e in response.json().get("errors") or []}
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, errors[index])
            if index in errors
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for index, op in enumerate(ops)
        ]

    def _record(self, op: Op) -> dict[str, Any]:
        values = {
            name: (None if op.kind is OpKind.CLEAR else _jsonable(value)) for name, value in op.fields.items()
        }
        return {**values, self.config.key_field: op.identifier}

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        key = self.config.key_field
        path = f"{self._list_path(target.parent_id)}/segments/{quote(target.id, safe='')}/contacts"
        skip = 0
        while True:
            response = await self._call("GET", path, params={"skip": skip, "take": PAGE, "fields": key})
            if response.status_code >= 400:
                raise ConfigError(f"Selligent segment {target.id!r}: {selligent_message(response)}")
            body = response.json()
            contacts = body.get("contacts") or []
            for contact in contacts:
                if contact.get(key):
                    yield str(contact[key])
            skip += len(contacts)
            if not contacts or skip >= int(body.get("total", 0)):
                return


def _jsonable(value: Any) -> Any:
    """Dates as ISO text, decimals as numbers (JSON has neither)."""
    return (
        float(value)
        if isinstance(value, Decimal)
        else value.isoformat()
        if hasattr(value, "isoformat")
        else value
    )
