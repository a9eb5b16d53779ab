"""Intercom REST API (2.14): export segments as a tag on existing users; synchronize contacts and
companies (upsert services, in :mod:`sluice.destinations.intercom.records`).

Contacts must exist: a batch of identifiers is first looked up with one ``POST /contacts/search``
(``email`` or ``external_id`` ``IN`` […], cursor-paged), then the users found are tagged with
one ``POST /tags`` ``{"name", "users": [{"id"}]}``; untagging has no bulk form, so removals are
one ``DELETE /contacts/{id}/tags/{tag_id}`` each. Intercom meters calls in 10-second windows
and reports them in ``X-RateLimit-Limit/Remaining/Reset`` on every response: the HTTP layer
pauses until the reset when the window is spent. See README.md for facts and sources.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.http import RateHeaders
from sluice.destinations.intercom.config import REGION_HOSTS, IntercomActivationDefaults, IntercomConfig
from sluice.destinations.intercom.records import COMPANY, CONTACT, IntercomRecords
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

TAG = "tag"
SEGMENT = "segment"
SEARCH_PAGE = 150
NOT_FOUND = "User Not Found"
FIELD_OF = {IdentifierKind.EMAIL: "email", IdentifierKind.EXTERNAL_ID: "external_id"}


def error_message(response: httpx.Response) -> str:
    """The first message of an Intercom ``error.list`` body."""
    try:
        body = response.json()
        errors = body.get("errors") or []
        if errors:
            return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}"


class IntercomConnector(Connector):
    """Tags on Intercom users, matched by email or User ID (``external_id``); contact and company
    upserts (companies matched by ``company_id``, an external id)."""

    type_name = "intercom"
    title = "Intercom"
    description = (
        "Export segments as a tag on existing Intercom users (matched by email or User ID); "
        "synchronize contacts and companies."
    )
    docs_url = "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/tags"
    config_model = IntercomConfig
    activation_defaults = IntercomActivationDefaults
    standard_fields = (
        StandardField("name", "full_name", "Contact or company name"),
        StandardField("phone", "phone", "Contact phone"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({TAG, SEGMENT, CONTACT, COMPANY}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.EXTERNAL_ID}),
        batch_size=100,
        concurrency=8,
        rate_limit=RateLimit(166, 10.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the tag's members and untag those not in the audience",
    )
    config: IntercomConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records = IntercomRecords(self._call, self._lookup)

    @classmethod
    def base_url(cls, config: IntercomConfig) -> str:
        return config.base_url or REGION_HOSTS[config.region]

    @classmethod
    def auth_headers(cls, config: IntercomConfig) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {config.access_token.get_secret_value()}",
            "Intercom-Version": config.api_version,
            "Accept": "application/json",
        }

    @classmethod
    def rate_limit_for(cls, config: IntercomConfig) -> RateLimit:
        return RateLimit(config.rate_limit_per_minute / 6, 10.0)

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        def number(name: str) -> float | None:
            try:
                return float(response.headers[name])
            except (KeyError, ValueError):
                return None

        remaining, reset = number("X-RateLimit-Remaining"), number("X-RateLimit-Reset")
        return RateHeaders(
            retry_after=None,
            remaining=int(remaining) if remaining is not None else None,
            reset_in=max(reset - now, 0.0) + 0.1 if reset is not None else None,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Intercom refused the access token: {error_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/me")
        body = response.json()
        app = (body.get("app") or {}).get("name") or body.get("name") or "Intercom"
        return f"connected to workspace {app!r}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind in (CONTACT, COMPANY):
            return TargetPage([await self.ensure_target(TargetSpec(kind))])
        if kind == SEGMENT:
            response = await self._call("GET", "/segments", params={"include_count": "true"})
            segments = response.json().get("segments") or []
            return TargetPage(
                [Target(SEGMENT, str(s["id"]), str(s["name"]), size=s.get("count")) for s in segments]
            )
        response = await self._call("GET", "/tags")  # Intercom returns every tag at once
        return TargetPage(
            [Target(TAG, str(t["id"]), str(t["name"])) for t in response.json().get("data") or []]
        )

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind in (CONTACT, COMPANY):  # the upsert services write the workspace's records
            return Target(spec.kind, f"{spec.kind}s", "Contacts" if spec.kind == CONTACT else "Companies")
        if spec.kind == SEGMENT:
            if not spec.id:
                raise ConfigError("Intercom segments are built in Intercom; pick one by id")
            for target in (await self.list_targets(SEGMENT)).items:
                if target.id == spec.id:
                    return target
            raise ConfigError(f"Intercom segment {spec.id} does not exist")
        if spec.id:
            response = await self._call("GET", f"/tags/{spec.id}")
            if response.status_code == 404:
                raise ConfigError(f"Intercom tag {spec.id} no longer exists")
            body = response.json()
            return Target(TAG, str(body["id"]), str(body["name"]))
        if not spec.create_if_missing:
            for target in (await self.list_targets(TAG)).items:
                if target.name.lower() == spec.name.lower():
                    return target
            raise ConfigError(f"Intercom has no tag named {spec.name!r}")
        response = await self._call("POST", "/tags", json={"name": spec.name})  # create or return by name
        if response.status_code >= 400:
            raise ConfigError(f"Intercom could not create tag {spec.name!r}: {error_message(response)}")
        body = response.json()
        return Target(TAG, str(body["id"]), str(body["name"]))

    # -- members -----------------------------------------------------------------------------

    async def _search(self, query: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            pagination: dict[str, Any] = {"per_page": SEARCH_PAGE}
            if cursor:
                pagination["starting_after"] = cursor
            response = await self._call(
                "POST", "/contacts/search", json={"query": query, "pagination": pagination}
            )
            if response.status_code >= 400:
                raise RowRejected(f"Intercom search failed: {error_message(response)}")
            body = response.json()
            for contact in body.get("data") or []:
                yield contact
            cursor = ((body.get("pages") or {}).get("next") or {}).get("starting_after")
            if not cursor:
                return

    async def _lookup(self, identifiers: list[str], kind: IdentifierKind) -> dict[str, list[str]]:
        """Identifier (lowercased for emails) → ids of the *users* that carry it."""
        field = FIELD_OF[kind]
        query = {"field": field, "operator": "IN", "value": identifiers}
        found: dict[str, list[str]] = defaultdict(list)
        async for contact in self._search(query):
            value = contact.get(field)
            if value is not None and contact.get("role") == "user":
                found[_normal(str(value), kind)].append(str(contact["id"]))
        return found

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if target.kind in (CONTACT, COMPANY):
            return await self.records.apply(target, ops)
        if target.kind != TAG:
            raise ConfigError("Intercom segments are read-only; activations write to a tag")
        if ops[0].kind not in (OpKind.ADD, OpKind.REMOVE):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Intercom tags do not support {op.kind}")
                for op in ops
            ]
        kind = target.identifier_kind
        ids = await self._lookup(list(dict.fromkeys(op.identifier for op in ops)), kind)
        if ops[0].kind is OpKind.ADD:
            return await self._tag(target, ops, ids, kind)
        return await self._untag(target, ops, ids, kind)

    async def _tag(
        self, target: Target, ops: Sequence[Op], ids: dict[str, list[str]], kind: IdentifierKind
    ) -> list[Outcome]:
        users = sorted({contact for op in ops for contact in ids.get(_normal(op.identifier, kind), [])})
        if users:
            body = {"name": target.name, "users": [{"id": user} for user in users]}
            response = await self._call("POST", "/tags", json=body)
            if response.status_code >= 400:
                raise RowRejected(error_message(response))
        missing = f"{NOT_FOUND}: no Intercom user has this {FIELD_OF[kind]}"
        return [
            Outcome.of(op, OutcomeStatus.DELIVERED)
            if ids.get(_normal(op.identifier, kind))
            else Outcome.of(op, OutcomeStatus.REJECTED, missing)
            for op in ops
        ]

    async def _untag(
        self, target: Target, ops: Sequence[Op], ids: dict[str, list[str]], kind: IdentifierKind
    ) -> list[Outcome]:
        async def untag(contact: str) -> str | None:
            response = await self._call("DELETE", f"/contacts/{contact}/tags/{target.id}")
            if response.status_code == 404:
                if "Resource Not Found" in error_message(response):  # the tag, not the contact
                    raise ConfigError(f"Intercom tag {target.name!r} ({target.id}) no longer exists")
                return None  # the contact is gone: it no longer carries the tag
            return error_message(response) if response.status_code >= 400 else None

        outcomes = []
        for op in ops:
            contacts = ids.get(_normal(op.identifier, kind), [])
            if not contacts:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {NOT_FOUND}"))
                continue
            errors = [e for e in await asyncio.gather(*(untag(c) for c in contacts)) if e]
            status = OutcomeStatus.REJECTED if errors else OutcomeStatus.DELIVERED
            outcomes.append(Outcome.of(op, status, "; ".join(errors)))
        return outcomes

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        field = FIELD_OF.get(target.identifier_kind, "email")
        query = {
            "field": "tag_id" if target.kind == TAG else "segment_id",
            "operator": "=",
            "value": target.id,
        }
        async for contact in self._search(query):
            value = contact.get(field)
            if value:
                yield str(value)


def _normal(value: str, kind: IdentifierKind) -> str:
    return value.lower() if kind is IdentifierKind.EMAIL else value
