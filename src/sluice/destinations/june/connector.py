"""June (email marketing): contact lists kept in step with Sluice segments.

June publishes no API reference (see README.md): the contract below is Sluice's stated assumption,
kept small and conventional, and the emulator implements exactly it.

- ``GET /lists?page&per_page`` → ``{"data": [{"id", "name", "contacts_count"}], "meta": {"page",
  "per_page", "total"}}``; ``POST /lists`` ``{"name"}`` → 201 ``{"data": {"id", "name"}}``;
- ``POST /lists/{id}/contacts`` ``{"emails": [≤ 500]}`` (adds, creating missing contacts) and
  ``POST /lists/{id}/contacts/remove`` → ``{"added"|"removed": […], "unchanged": […], "errors":
  [{"email", "message"}]}``; ``GET /lists/{id}/contacts?page&per_page`` → ``{"data": [{"email"}], "meta"}``;
- ``Authorization: Bearer <key>``; errors ``{"error": {"code", "message"}}``; 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.june.config import JuneActivationDefaults, JuneConfig
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
    Target,
    TargetPage,
    TargetSpec,
)

LIST = "list"
MAX_EMAILS = 500
PAGE = 100


def june_message(response: httpx.Response) -> str:
    """June's ``code: message`` (assumed error shape)."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    return (
        f"{error.get('code', response.status_code)}: {error.get('message', '')}"
        if isinstance(error, dict)
        else str(error)
    )


class JuneConnector(Connector):
    """June contact lists."""

    type_name = "june"
    title = "June"
    description = "Export segments to June email-marketing contact lists."
    config_model = JuneConfig
    activation_defaults = JuneActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({LIST}),
        identifiers=frozenset({IdentifierKind.EMAIL}),
        batch_size=MAX_EMAILS,
        concurrency=2,
        rate_limit=RateLimit(5, 1.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the list's contacts and remove those not in the audience",
        rejects_unknown_contacts=False,
        unknown_contacts_note="adding an email to a June list creates the contact (assumed contract)",
    )
    config: JuneConfig

    @classmethod
    def base_url(cls, config: JuneConfig) -> str:
        return config.api_url.rstrip("/")

    @classmethod
    def auth_headers(cls, config: JuneConfig) -> dict[str, str]:
        return {"Authorization": f"Bearer {config.api_key.get_secret_value()}", "Accept": "application/json"}

    @classmethod
    def rate_limit_for(cls, config: JuneConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"June refused the API key: {june_message(response)}")
        return response

    async def check(self) -> str:
        response = await self._call("GET", "/account")
        if response.status_code >= 400:
            raise ConfigError(f"June account: {june_message(response)}")
        return f"connected to June account {response.json().get('data', {}).get('name', '')!r}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        page = int(cursor or 1)
        response = await self._call("GET", "/lists", params={"page": page, "per_page": PAGE})
        if response.status_code >= 400:
            raise ConfigError(f"June could not list contact lists: {june_message(response)}")
        body = response.json()
        items = [
            Target(LIST, str(i["id"]), str(i["name"]), size=i.get("contacts_count"))
            for i in body.get("data") or []
        ]
        meta = body.get("meta") or {}
        seen = (page - 1) * int(meta.get("per_page") or PAGE) + len(items)
        return TargetPage(items, str(page + 1) if items and seen < int(meta.get("total") or 0) else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            response = await self._call("GET", f"/lists/{quote(spec.id, safe='')}")
            if response.status_code >= 400:
                raise ConfigError(f"June list {spec.id}: {june_message(response)}")
            item = response.json()["data"]
            return Target(LIST, str(item["id"]), str(item["name"]))
        cursor: str | None = None
        while True:
            page = await self.list_targets(LIST, cursor)
            found = next((t for t in page.items if t.name == spec.name), None)
            if found is not None:
                return found
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if not spec.create_if_missing:
            raise ConfigError(f"June has no list named {spec.name!r}")
        response = await self._call("POST", "/lists", json={"name": spec.name})
        if response.status_code >= 400:
            raise ConfigError(f"June could not create list {spec.name!r}: {june_message(response)}")
        item = response.json()["data"]
        return Target(LIST, str(item["id"]), str(item["name"]), size=0)

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        if kind not in (OpKind.ADD, OpKind.REMOVE):
            return [Outcome.of(op, OutcomeStatus.REJECTED, f"June lists do not support {kind}") for op in ops]
        path = f"/lists/{quote(target.id, safe='')}/contacts" + ("" if kind is OpKind.ADD else "/remove")
        emails = list(dict.fromkeys(op.identifier.strip().lower() for op in ops))
        response = await self._call("POST", path, json={"emails": emails})
        if response.status_code == 404:
            raise ConfigError(f"June list {target.name!r} ({target.id}): {june_message(response)}")
        if response.status_code >= 400:
            raise RowRejected(june_message(response))
        errors = {
            str(e["email"]).lower(): str(e.get("message", "")) for e in response.json().get("errors") or []
        }
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, errors[email])
            if (email := op.identifier.strip().lower()) in errors
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for op in ops
        ]

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        page = 1
        while True:
            response = await self._call(
                "GET", f"/lists/{quote(target.id, safe='')}/contacts", params={"page": page, "per_page": PAGE}
            )
            if response.status_code >= 400:
                raise ConfigError(f"June list {target.id}: {june_message(response)}")
            body = response.json()
            contacts = body.get("data") or []
            for contact in contacts:
                yield str(contact["email"])
            meta = body.get("meta") or {}
            if not contacts or (page - 1) * int(meta.get("per_page") or PAGE) + len(contacts) >= int(
                meta.get("total") or 0
            ):
                return
            page += 1
