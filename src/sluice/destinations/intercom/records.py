"""Intercom upsert services: synchronize contacts (users) and synchronize companies.

Contacts: one ``POST /contacts/search`` per batch finds the users by email or ``external_id``;
found users are updated with ``PUT /contacts/{id}``, the others created with ``POST /contacts``
(``role: user``). A create that answers 409 "…already exists with id=…" (a user search did not see
yet, or an archived one, which is unarchived first) becomes an update of that id.
Companies: ``POST /companies`` creates or updates by ``company_id``.
Mapped fields that are not standard attributes are custom attributes; each must exist as a data
attribute of the model (``GET /data_attributes?model=…``), otherwise the run stops with a
:class:`ConfigError` naming it — Intercom would refuse every row.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import IdentifierKind, Op, OpKind, Outcome, OutcomeStatus, Target

CONTACT = "contact"
COMPANY = "company"
#: attributes sent at the top level of a contact / company (anything else is a custom attribute)
STANDARD = {
    CONTACT: frozenset(
        {"name", "phone", "avatar", "signed_up_at", "last_seen_at", "owner_id", "unsubscribed_from_emails"}
    ),
    COMPANY: frozenset({"name", "plan", "size", "website", "industry", "remote_created_at", "monthly_spend"}),
}
#: company attributes Intercom types as integers: a clear leaves them (no null in its request schema)
COMPANY_NUMBERS = frozenset({"size", "remote_created_at", "monthly_spend"})
CONFLICT_ID = re.compile(r"id=([0-9a-zA-Z]+)")

Call = Callable[..., Awaitable[httpx.Response]]
Lookup = Callable[[list[str], IdentifierKind], Awaitable[dict[str, list[str]]]]


def _message(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return (
            "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
            or f"HTTP {response.status_code}"
        )
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


class IntercomRecords:
    """Upserts of one connector (``call`` is its authenticated request, ``lookup`` its user search)."""

    def __init__(self, call: Call, lookup: Lookup) -> None:
        self.call = call
        self.lookup = lookup
        self._attributes: dict[str, frozenset[str]] = {}

    async def custom_attributes(self, model: str) -> frozenset[str]:
        """Names of the custom data attributes of ``model`` (read once)."""
        if model not in self._attributes:
            response = await self.call("GET", "/data_attributes", params={"model": model})
            names = {
                str(a["name"])
                for a in response.json().get("data") or []
                if str(a.get("full_name", "")).startswith("custom_attributes.")
            }
            self._attributes[model] = frozenset(names)
        return self._attributes[model]

    async def body(self, model: str, op: Op) -> dict[str, Any]:
        """Standard attributes at the top level, the rest under ``custom_attributes`` (checked)."""
        known = await self.custom_attributes(model)
        body: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        clear = op.kind is OpKind.CLEAR
        for name, value in op.fields.items():
            if model == COMPANY and clear and name in COMPANY_NUMBERS:
                continue
            sent = ("" if model == COMPANY else None) if clear else value
            if name in STANDARD[model]:
                body[name] = sent
            elif name in known:
                custom[name] = sent
            else:
                raise ConfigError(
                    f"Intercom has no custom {model} attribute {name!r}: create it (Settings > Data, or "
                    "POST /data_attributes) or change the mapping"
                )
        if custom:
            body["custom_attributes"] = custom
        return body

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind not in (OpKind.UPSERT, OpKind.CLEAR, OpKind.DELETE):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Intercom {target.kind}s do not support {op.kind}")
                for op in ops
            ]
        if target.kind == COMPANY:
            return list(await asyncio.gather(*(self._company(op) for op in ops)))
        kind = target.identifier_kind
        ids = await self.lookup(list(dict.fromkeys(op.identifier for op in ops)), kind)
        lower = kind is IdentifierKind.EMAIL
        return list(
            await asyncio.gather(
                *(
                    self._contact(op, kind, ids.get(op.identifier.lower() if lower else op.identifier, []))
                    for op in ops
                )
            )
        )

    async def _contact(self, op: Op, kind: IdentifierKind, found: list[str]) -> Outcome:
        if op.kind is OpKind.DELETE:
            for contact_id in found:
                response = await self.call("DELETE", f"/contacts/{contact_id}")
                if response.status_code >= 400 and response.status_code != 404:
                    return Outcome.of(op, OutcomeStatus.REJECTED, _message(response))
            return Outcome.of(op, OutcomeStatus.DELIVERED, "" if found else "nothing to delete: no such user")
        body = await self.body(CONTACT, op)
        if found:
            return await self._update(op, found[0], body)
        field = "external_id" if kind is IdentifierKind.EXTERNAL_ID else "email"
        response = await self.call("POST", "/contacts", json={"role": "user", field: op.identifier, **body})
        if response.status_code == 409:
            message = _message(response)
            match = CONFLICT_ID.search(message)
            if match is None:
                return Outcome.of(op, OutcomeStatus.REJECTED, message)
            if "archived" in message:
                unarchived = await self.call("POST", f"/contacts/{match.group(1)}/unarchive")
                if unarchived.status_code >= 400:
                    return Outcome.of(op, OutcomeStatus.REJECTED, _message(unarchived))
            return await self._update(op, match.group(1), body)
        return self._outcome(op, response)

    async def _update(self, op: Op, contact_id: str, body: dict[str, Any]) -> Outcome:
        return self._outcome(op, await self.call("PUT", f"/contacts/{contact_id}", json=body))

    async def _company(self, op: Op) -> Outcome:
        if op.kind is OpKind.DELETE:
            found = await self.call("GET", "/companies", params={"company_id": op.identifier})
            if found.status_code == 404:
                return Outcome.of(op, OutcomeStatus.DELIVERED, "nothing to delete: Company Not Found")
            response = await self.call("DELETE", f"/companies/{quote(str(found.json()['id']), safe='')}")
            return self._outcome(op, response)
        body = await self.body(COMPANY, op)
        return self._outcome(
            op, await self.call("POST", "/companies", json={"company_id": op.identifier, **body})
        )

    @staticmethod
    def _outcome(op: Op, response: httpx.Response) -> Outcome:
        if response.status_code < 400:
            return Outcome.of(op, OutcomeStatus.DELIVERED)
        message = _message(response)
        if "does not exist" in message and "attribute" in message.lower():
            raise ConfigError(f"Intercom: {message} (create the data attribute or change the mapping)")
        return Outcome.of(op, OutcomeStatus.REJECTED, message)
