"""All My SMS HTTP API 9.0: contact lists ("bases") keyed by mobile number.

Every call is ``POST https://api.allmysms.com/http/9.0/{action}/`` with form fields ``login``,
``apiKey`` (and ``returnformat=json``); list writes go through ``createList`` with one JSON field:

- ``listData`` ``{"DATA": {"LISTNAME", "SUBACCOUNT", "LOCKED", "STRUCTURE": [{"FIELDNAME", "FILTER", "MAILING"}]}}``
  creates a list; ``getLists`` → ``{"lists": [{"listName", "contacts", "locked", "creationDate"}]}``;
- ``populateData`` ``{"DATA": {"LISTNAME", "SUBACCOUNT", "CONTACTS": [{"MOBILEPHONE": "336…", field: value}]}}``
  adds contacts → ``{"status": "1", "statusText", "success", "ignored", "duplicated"}`` (counts only);
- ``deleteData`` (same shape) removes them; ``getContacts`` ``listName`` → ``{"contacts": [{"MobilePhone", …}]}``.

Membership (target ``list``): *add* populates, *remove* deletes. Upsert (same target, a list with
fields): populating never updates a contact already in the list (it counts as ``duplicated``), so
an upsert deletes the batch's numbers and populates them again with their fields; *clear* does the
same with empty fields, *delete* deletes. Numbers are E.164 in Sluice and sent as All My SMS writes
them, international digits without ``+`` (``33612345678``). The answer only counts ``ignored``
contacts, so when some were ignored the list is read back and the missing numbers are rejected.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import httpx

from sluice.destinations.allmysms.config import AllMySmsActivationDefaults, AllMySmsConfig
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.hashing import InvalidIdentifier, normalise_phone
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
MAX_CONTACTS = 1000
#: answer codes meaning the login or API key is wrong (inferred, see README)
AUTH_CODES = frozenset({"102"})
IGNORED = "ignored by All My SMS (number blacklisted or not a valid mobile number)"


class AllMySmsConnector(Connector):
    """All My SMS contact lists."""

    type_name = "allmysms"
    title = "All My SMS"
    description = (
        "Export segments to SMS contact lists and keep contacts' fields up to date, by mobile number."
    )
    docs_url = "https://www.allmysms.com/en/?p=26160"
    config_model = AllMySmsConfig
    activation_defaults = AllMySmsActivationDefaults
    standard_fields = (
        StandardField("FIRSTNAME", "first_name", "First name"),
        StandardField("LASTNAME", "last_name", "Last name"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({LIST}),
        identifiers=frozenset({IdentifierKind.PHONE}),
        batch_size=MAX_CONTACTS,
        concurrency=1,
        rate_limit=RateLimit(2, 1.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the list's contacts and delete those not in the audience",
        rejects_unknown_contacts=False,
        unknown_contacts_note="adding a number to a list creates the contact in that list",
    )
    config: AllMySmsConfig

    @classmethod
    def base_url(cls, config: AllMySmsConfig) -> str:
        return config.base_url or "https://api.allmysms.com/http/9.0"

    @classmethod
    def rate_limit_for(cls, config: AllMySmsConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    def msisdn(self, identifier: str) -> str:
        """The number as All My SMS writes it: E.164 digits without ``+``."""
        return normalise_phone(identifier, default_region=self.config.default_country, plus=False)

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        reason = super().invalid_reason(op, kind)
        if reason is None:
            try:
                self.msisdn(op.identifier)
            except InvalidIdentifier as exc:
                return str(exc)
        return reason

    async def _call(self, action: str, **fields: str) -> dict[str, Any]:
        form = {
            "login": self.config.login,
            "apiKey": self.config.api_key.get_secret_value(),
            "returnformat": "json",
        }
        if self.config.sub_account:
            form["subAccount"] = self.config.sub_account
        response = await self.http.request("POST", f"/{action}/", form={**form, **fields})
        body = _answer(response)
        code = str(body.get("status", ""))
        if code in AUTH_CODES or response.status_code in (401, 403):
            raise ConfigError(f"All My SMS refused the login or API key: {body.get('statusText') or code}")
        if code.isdigit() and int(code) >= 100:
            raise RowRejected(f"{code}: {body.get('statusText', '')}")
        return body

    # -- connection and targets ------------------------------------------------------------------

    async def check(self) -> str:
        info = await self._call("getInfo")
        return (
            f"connected to All My SMS ({info.get('status', 'account')}, {info.get('credits', '?')} credits)"
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        lists = (await self._call("getLists")).get("lists") or []
        return TargetPage(
            [
                Target(LIST, str(i["listName"]), str(i["listName"]), size=_int(i.get("contacts")))
                for i in lists
            ]
        )

    async def ensure_target(self, spec: TargetSpec) -> Target:
        name = spec.id or spec.name
        for target in (await self.list_targets(LIST)).items:
            if target.id == name:
                return target
        if spec.id or not spec.create_if_missing:
            raise ConfigError(f"All My SMS has no list named {name!r}")
        structure = [{"FIELDNAME": field, "FILTER": 0, "MAILING": 0} for field in self.config.list_fields]
        data = {
            "LISTNAME": name,
            "SUBACCOUNT": self.config.sub_account,
            "LOCKED": "0",
            "STRUCTURE": structure,
        }
        try:
            await self._call("createList", listData=json.dumps({"DATA": data}))
        except RowRejected as exc:
            raise ConfigError(f"All My SMS could not create list {name!r}: {exc.reason}") from None
        return Target(LIST, name, name, size=0)

    # -- delivery --------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        if kind in (OpKind.UPSERT, OpKind.CLEAR):
            # an upsert deletes before it re-adds: never delete a number whose fields the list cannot take
            allowed = set(self.config.list_fields)
            refused = [op for op in ops if set(op.fields) - allowed]
            if refused:
                sent = [op for op in ops if op not in refused]
                outcomes = [self._unlisted_fields(op, allowed) for op in refused]
                return outcomes + (await self.apply(target, sent) if sent else [])
        numbers = [self.msisdn(op.identifier) for op in ops]
        if kind in (OpKind.REMOVE, OpKind.DELETE):
            await self._write(target, "deleteData", [{"MOBILEPHONE": n} for n in numbers])
            return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]
        if kind in (OpKind.UPSERT, OpKind.CLEAR):
            await self._write(target, "deleteData", [{"MOBILEPHONE": n} for n in numbers])
        elif kind is not OpKind.ADD:
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"All My SMS lists do not support {kind}")
                for op in ops
            ]
        contacts = [
            {**self._fields(op), "MOBILEPHONE": number} for op, number in zip(ops, numbers, strict=True)
        ]
        answer = await self._write(target, "populateData", contacts)
        missing: set[str] = set()
        if _int(answer.get("ignored")):
            held = {self.msisdn(member) async for member in self.read_members(target)}
            missing = set(numbers) - held
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, IGNORED)
            if number in missing
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for op, number in zip(ops, numbers, strict=True)
        ]

    @staticmethod
    def _unlisted_fields(op: Op, allowed: set[str]) -> Outcome:
        fields = ", ".join(sorted(set(op.fields) - allowed))
        return Outcome.of(
            op, OutcomeStatus.REJECTED, f"not sent: {fields} not among the list fields (list_fields)"
        )

    @staticmethod
    def _fields(op: Op) -> dict[str, Any]:
        if op.kind is not OpKind.UPSERT:
            return dict.fromkeys(op.fields, "")
        return {name: "" if value is None else _text(value) for name, value in op.fields.items()}

    async def _write(self, target: Target, action: str, contacts: list[dict[str, Any]]) -> dict[str, Any]:
        data = {"LISTNAME": target.id, "SUBACCOUNT": self.config.sub_account, "CONTACTS": contacts}
        return await self._call("createList", **{action: json.dumps({"DATA": data})})

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        for contact in (await self._call("getContacts", listName=target.id)).get("contacts") or []:
            number = str(contact.get("MobilePhone") or contact.get("MOBILEPHONE") or "").strip()
            if number:
                yield f"+{number.lstrip('+')}"


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RowRejected(f"All My SMS answered HTTP {response.status_code} without a JSON object")
    return body


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _text(value: Any) -> str:
    """All My SMS fields are text: dates as ISO, numbers as written."""
    if isinstance(value, Decimal | float):
        return format(value, "f").rstrip("0").rstrip(".") if value % 1 else str(int(value))
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
