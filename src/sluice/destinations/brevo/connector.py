"""Brevo API v3: contact lists and contact imports.

- Membership (target ``list``): ``POST /contacts/lists/{listId}/contacts/add`` and ``…/remove``
  ``{"emails"|"extIds"|"ids": [≤ 150]}`` → 201 ``{"contacts": {"success": […], "failure": […]}}``;
  when nothing succeeds Brevo answers 400 "Contact already in list and/or does not exist". A failure
  is ambiguous (already in / out of the list, or no such contact), so each failed contact is read
  with ``GET /contacts/{identifier}``: 404 → rejected, otherwise its ``listIds`` decide.
- Upsert (target ``contacts``): ``POST /contacts/import`` ``{"jsonBody": […], "updateExistingContacts":
  true}`` → 202 ``{"processId"}``, polled at ``GET /processes/{processId}`` until ``completed``;
  removal *clear* imports empty values with ``emptyContactsAttributes``; *delete* is
  ``DELETE /contacts/{identifier}`` per row.
- Rate: ``x-sib-ratelimit-limit/remaining/reset`` (seconds until the window resets).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.brevo.config import BrevoActivationDefaults, BrevoConfig
from sluice.destinations.errors import ConfigError, RowRejected, Transient
from sluice.destinations.http import RateHeaders
from sluice.destinations.jobs import JobPolling, poll_job
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
CONTACTS = "contacts"
LIST_LIMIT = 150
LISTS_PAGE = 50
MEMBERS_PAGE = 500
BODY_FIELD = {
    IdentifierKind.EMAIL: "emails",
    IdentifierKind.EXTERNAL_ID: "extIds",
    IdentifierKind.PLATFORM_ID: "ids",
}
IDENTIFIER_TYPE = {
    IdentifierKind.EMAIL: "email_id",
    IdentifierKind.EXTERNAL_ID: "ext_id",
    IdentifierKind.PLATFORM_ID: "contact_id",
}


def brevo_message(response: httpx.Response) -> str:
    """Brevo's ``code: message``."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return f"{body.get('code', 'error')}: {body['message']}"
    return f"HTTP {response.status_code}"


class BrevoConnector(Connector):
    """Brevo contacts and contact lists."""

    type_name = "brevo"
    title = "Brevo"
    description = "Synchronize contacts (asynchronous imports) and export segments to Brevo contact lists."
    docs_url = "https://developers.brevo.com/reference/add-contact-to-list"
    config_model = BrevoConfig
    activation_defaults = BrevoActivationDefaults
    standard_fields = (
        StandardField("FIRSTNAME", "first_name", "First name"),
        StandardField("LASTNAME", "last_name", "Last name"),
        StandardField("SMS", "phone", "Mobile number with country code"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({LIST, CONTACTS}),
        identifiers=frozenset(BODY_FIELD),
        batch_size=LIST_LIMIT,
        concurrency=4,
        rate_limit=RateLimit(10, 1.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the list's contacts and remove those not in the audience",
    )
    config: BrevoConfig
    polling = JobPolling(interval=1.0, backoff=1.5, max_interval=10.0, timeout=1800.0)

    @classmethod
    def base_url(cls, config: BrevoConfig) -> str:
        return config.base_url or "https://api.brevo.com/v3"

    @classmethod
    def auth_headers(cls, config: BrevoConfig) -> dict[str, str]:
        return {"api-key": config.api_key.get_secret_value(), "accept": "application/json"}

    @classmethod
    def rate_limit_for(cls, config: BrevoConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        def number(name: str) -> float | None:
            try:
                return float(response.headers[name])
            except (KeyError, ValueError):
                return None

        remaining, reset = number("x-sib-ratelimit-remaining"), number("x-sib-ratelimit-reset")
        return RateHeaders(
            retry_after=reset if response.status_code == 429 else None,
            remaining=int(remaining) if remaining is not None else None,
            reset_in=reset,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Brevo refused the API key: {brevo_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/account")
        body = response.json()
        return f"connected to Brevo account {body.get('companyName') or body.get('email')!r}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == CONTACTS:
            return TargetPage([Target(CONTACTS, CONTACTS, "Brevo contacts")])
        offset = int(cursor or 0)
        response = await self._call("GET", "/contacts/lists", params={"limit": LISTS_PAGE, "offset": offset})
        body = response.json()
        items = [self._list(item) for item in body.get("lists") or []]
        following = offset + len(items)
        return TargetPage(items, str(following) if items and following < int(body.get("count", 0)) else None)

    @staticmethod
    def _list(item: dict[str, Any]) -> Target:
        return Target(LIST, str(item["id"]), str(item["name"]), size=item.get("totalSubscribers"))

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == CONTACTS:
            return Target(CONTACTS, CONTACTS, "Brevo contacts")
        if spec.id:
            response = await self._call("GET", f"/contacts/lists/{spec.id}")
            if response.status_code in (400, 404):
                raise ConfigError(f"Brevo list {spec.id} does not exist: {brevo_message(response)}")
            return self._list(response.json())
        cursor: str | None = None
        while True:
            page = await self.list_targets(LIST, cursor)
            for target in page.items:
                if target.name == spec.name:
                    return target
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if not spec.create_if_missing:
            raise ConfigError(f"Brevo has no list named {spec.name!r}")
        response = await self._call(
            "POST", "/contacts/lists", json={"name": spec.name, "folderId": self.config.folder_id}
        )
        if response.status_code >= 400:
            raise ConfigError(f"Brevo could not create list {spec.name!r}: {brevo_message(response)}")
        return Target(LIST, str(response.json()["id"]), spec.name, size=0)

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        allowed = {LIST: (OpKind.ADD, OpKind.REMOVE), CONTACTS: (OpKind.UPSERT, OpKind.CLEAR, OpKind.DELETE)}
        if kind not in allowed.get(target.kind, ()):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Brevo {target.kind} targets do not support {kind}")
                for op in ops
            ]
        if target.kind == LIST:
            return await self._membership(target, ops)
        if kind is OpKind.DELETE:
            return list(await asyncio.gather(*(self._delete(target, op) for op in ops)))
        if target.identifier_kind is not IdentifierKind.EMAIL:
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, "Brevo imports match contacts by email") for op in ops
            ]
        return await self._import(ops)

    def _value(self, op: Op, kind: IdentifierKind) -> Any:
        if kind is IdentifierKind.PLATFORM_ID and op.identifier.isdigit():
            return int(op.identifier)
        return op.identifier.lower() if kind is IdentifierKind.EMAIL else op.identifier

    async def _membership(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = target.identifier_kind
        adding = ops[0].kind is OpKind.ADD
        values = list(dict.fromkeys(self._value(op, kind) for op in ops))
        path = f"/contacts/lists/{target.id}/contacts/{'add' if adding else 'remove'}"
        response = await self._call("POST", path, json={BODY_FIELD[kind]: values})
        if response.status_code == 404:
            raise ConfigError(f"Brevo list {target.name!r} ({target.id}): {brevo_message(response)}")
        if response.status_code == 400 and "and/or does not exist" in brevo_message(response):
            failed = {str(v).lower() for v in values}  # nothing succeeded: every contact to be checked
        elif response.status_code >= 400:
            raise RowRejected(brevo_message(response))
        else:
            failed = {str(v).lower() for v in (response.json().get("contacts") or {}).get("failure") or []}
        doubtful = [value for value in values if str(value).lower() in failed]
        states = await asyncio.gather(*(self._state(target, kind, value) for value in doubtful))
        checks = dict(zip(doubtful, states, strict=True))
        outcomes = []
        for op in ops:
            state = checks.get(self._value(op, kind))
            if state is None:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif state == "missing":
                message = "document_not_found: Contact does not exist"
                status = OutcomeStatus.REJECTED if adding else OutcomeStatus.DELIVERED
                outcomes.append(
                    Outcome.of(op, status, message if adding else f"nothing to remove: {message}")
                )
            elif (state == "member") == adding:
                outcomes.append(
                    Outcome.of(
                        op, OutcomeStatus.DELIVERED, f"already {'in' if adding else 'out of'} the list"
                    )
                )
            else:
                outcomes.append(
                    Outcome.of(op, OutcomeStatus.REJECTED, "Brevo refused the change for this contact")
                )
        return outcomes

    async def _state(self, target: Target, kind: IdentifierKind, value: Any) -> str:
        """``missing``, ``member`` or ``outside`` for one contact Brevo did not change."""
        path = f"/contacts/{quote(str(value), safe='')}"
        response = await self._call("GET", path, params={"identifierType": IDENTIFIER_TYPE[kind]})
        if response.status_code == 404:
            return "missing"
        if response.status_code >= 400:
            raise RowRejected(brevo_message(response))
        list_ids = {str(i) for i in response.json().get("listIds") or []}
        return "member" if target.id in list_ids else "outside"

    async def _import(self, ops: Sequence[Op]) -> list[Outcome]:
        clearing = ops[0].kind is OpKind.CLEAR
        rows = [
            {
                "email": op.identifier,
                "attributes": {
                    name: "" if clearing or value is None else _jsonable(value)
                    for name, value in op.fields.items()
                },
            }
            for op in ops
        ]
        body = {"jsonBody": rows, "updateExistingContacts": True, "emptyContactsAttributes": clearing}
        response = await self._call("POST", "/contacts/import", json=body)
        if response.status_code >= 400:
            raise RowRejected(brevo_message(response))
        process = response.json()["processId"]
        done = await poll_job(
            self.http, f"/processes/{process}", finished=_process_finished, polling=self.polling
        )
        if done.json().get("status") != "completed":
            raise Transient(f"Brevo import process {process} ended {done.json().get('status')}")
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]

    async def _delete(self, target: Target, op: Op) -> Outcome:
        path = f"/contacts/{quote(str(self._value(op, target.identifier_kind)), safe='')}"
        response = await self._call(
            "DELETE", path, params={"identifierType": IDENTIFIER_TYPE[target.identifier_kind]}
        )
        if response.status_code == 404:
            return Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to delete: {brevo_message(response)}")
        if response.status_code >= 400:
            return Outcome.of(op, OutcomeStatus.REJECTED, brevo_message(response))
        return Outcome.of(op, OutcomeStatus.DELIVERED)

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        key = {IdentifierKind.EXTERNAL_ID: "ext_id", IdentifierKind.PLATFORM_ID: "id"}.get(
            target.identifier_kind, "email"
        )
        offset = 0
        while True:
            response = await self._call(
                "GET",
                f"/contacts/lists/{target.id}/contacts",
                params={"limit": MEMBERS_PAGE, "offset": offset},
            )
            if response.status_code in (400, 404):
                raise ConfigError(f"Brevo list {target.id}: {brevo_message(response)}")
            body = response.json()
            contacts = body.get("contacts") or []
            for contact in contacts:
                value = (
                    contact.get(key) if key != "ext_id" else (contact.get("attributes") or {}).get("EXT_ID")
                )
                if value:
                    yield str(value)
            offset += len(contacts)
            if not contacts or offset >= int(body.get("count", 0)):
                return


def _process_finished(response: httpx.Response) -> bool:
    if response.status_code in (401, 403):
        raise ConfigError(f"Brevo refused the API key: {brevo_message(response)}")
    if response.status_code >= 400:
        raise Transient(f"Brevo process status: {brevo_message(response)}")
    return str(response.json().get("status")) not in ("queued", "in_process")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and type(value).__name__ == "Decimal":
        return float(value)
    return value
