"""Splio Customer Platform API: contacts by unique key (email), targeting groups and lists.

- Auth: ``POST /authenticate {"api_key"}`` answers a JWT valid one hour, sent as
  ``Authorization: Bearer``; the connector renews it after 50 minutes or on a 401.
- Membership, target kind ``group`` (default): ``POST /target/groups/{id}/add|remove {"keys": […]}``
  (at most 10,000 keys); keys Splio does not know come back in ``keys_not_found``. Groups are listed by
  ``GET /target/groups/list`` and created with ``POST /target/groups``; a full refresh empties the
  group with ``POST /target/groups/{id}/clear``.
- Membership, target kind ``list`` (subscription lists): ``POST /data/contacts/{key}/lists/subscribe|
  unsubscribe {"list_ids": [id]}``, one contact per call; 404 for an unknown contact.
- Upsert, target kind ``contacts``: ``POST /data/contacts/bulk`` creates up to 1,000 contacts and
  answers 207 with an item per contact; those that already exist are then edited with
  ``PATCH /data/contacts/{key}``. Mapped fields named ``firstname``, ``lastname``, ``cellphone``,
  ``language`` are contact fields, any other name is a custom field of the universe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.http import RateHeaders, VendorHttp
from sluice.destinations.key_tokens import KeyTokenSession
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
from sluice.destinations.splio.config import SplioActivationDefaults, SplioConfig

GROUP = "group"
LIST = "list"
CONTACTS = "contacts"
BULK_LIMIT = 1000
PAGE = 100
TOKEN_SECONDS = 50 * 60  # Splio tokens last one hour; renew before
CONTACT_FIELDS = frozenset({"firstname", "lastname", "cellphone", "language"})
ALREADY_EXISTS = "already exists"
ALLOWED = {
    GROUP: (OpKind.ADD, OpKind.REMOVE),
    LIST: (OpKind.ADD, OpKind.REMOVE),
    CONTACTS: (OpKind.UPSERT, OpKind.CLEAR),
}


def splio_message(response: httpx.Response) -> str:
    """Splio's error descriptions (``errors[].error_description``), or its bare string / ``message``."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        described = [
            f"{e.get('error_key')}: {e.get('error_description') or e.get('error')}"
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        if described:
            return "; ".join(described)
        if body.get("message"):
            return str(body["message"])
    return f"HTTP {response.status_code}"


def _text(value: Any) -> str:
    """A custom field value as Splio takes it (dates as ``YYYY-MM-DD HH:MM:SS``)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


class SplioConnector(Connector):
    """Splio contacts addressed by their unique key (email)."""

    type_name = "splio"
    title = "Splio"
    description = (
        "Synchronize contacts (fields and custom fields) and export segments into Splio targeting "
        "groups or subscription lists."
    )
    docs_url = "https://dev-scp.splio.com/reference/post_target-groups-id-add"
    config_model = SplioConfig
    activation_defaults = SplioActivationDefaults
    standard_fields = (
        StandardField("firstname", "first_name", "First name"),
        StandardField("lastname", "last_name", "Last name"),
        StandardField("cellphone", "phone", "Mobile phone"),
        StandardField("language", "language", "Language (en, fr, …)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({GROUP, LIST, CONTACTS}),
        identifiers=frozenset({IdentifierKind.EMAIL}),
        batch_size=BULK_LIMIT,
        concurrency=4,
        rate_limit=RateLimit(10, 1.0),
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Splio's API lists neither the members of a group nor those of a list.",
        full_refresh="groups: emptied (POST /target/groups/{id}/clear) then refilled; lists: only the diff",
    )
    config: SplioConfig

    def __init__(self, config: Any, http: VendorHttp) -> None:
        super().__init__(config, http)
        self.session = KeyTokenSession(
            http, vendor="Splio", lifetime=TOKEN_SECONDS, fetch=self._fetch_token, describe=splio_message
        )
        self._call = self.session.request
        self._field_names: set[str] | None = None

    @classmethod
    def base_url(cls, config: SplioConfig) -> str:
        return config.base_url.rstrip("/")

    @classmethod
    def rate_limit_for(cls, config: SplioConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        """``rateLimit-remaining`` and ``rateLimit-reset`` (seconds until the window resets); no Retry-After."""

        def number(name: str) -> float | None:
            try:
                return float(response.headers[name])
            except (KeyError, ValueError):
                return None

        remaining, reset = number("rateLimit-remaining"), number("rateLimit-reset")
        return RateHeaders(
            retry_after=reset + 0.1 if response.status_code == 429 and reset is not None else None,
            remaining=int(remaining) if remaining is not None else None,
            reset_in=reset + 0.1 if reset is not None else None,
        )

    # -- auth ------------------------------------------------------------------------------------

    async def _fetch_token(self, http: VendorHttp) -> str:
        """``POST /authenticate {"api_key"}`` → ``{"token": <JWT>}``."""
        response = await http.request(
            "POST", "/authenticate", json={"api_key": self.config.api_key.get_secret_value()}
        )
        token = response.json().get("token") if response.is_success else None
        if not isinstance(token, str) or not token:
            raise ConfigError(f"Splio refused the API key: {splio_message(response)}")
        return token

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        """The key works and the universe's contacts are keyed by email (what Sluice sends)."""
        response = await self._call("GET", "/universes/unique-key")
        if response.status_code >= 400:
            raise ConfigError(f"Splio answered {splio_message(response)}")
        unique_key = str(response.json().get("unique_key") or "")
        if unique_key != "email":
            raise ConfigError(
                f"this Splio universe identifies contacts by {unique_key or 'an unknown key'!r}; "
                "Sluice sends emails, so it needs a universe whose unique key is the email"
            )
        return "connected to the Splio universe (contacts keyed by email)"

    async def _page(self, path: str, page: int, **params: Any) -> tuple[list[dict[str, Any]], str | None]:
        response = await self._call("GET", path, params={"per_page": PAGE, "page_number": page, **params})
        if response.status_code >= 400:
            raise ConfigError(f"Splio answered {splio_message(response)}")
        body = response.json()
        elements = [e for e in body.get("elements") or [] if isinstance(e, dict)]
        per_page = int(body.get("per_page") or PAGE)
        more = page * per_page < int(body.get("count_element") or 0) and bool(elements)
        return elements, str(page + 1) if more else None

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == CONTACTS:
            return TargetPage([Target(CONTACTS, CONTACTS, "Contacts")])
        page = int(cursor or 1)
        if kind == LIST:
            elements, following = await self._page("/data/v1/lists", page)
            return TargetPage([Target(LIST, str(e["id"]), str(e["name"])) for e in elements], following)
        elements, following = await self._page("/target/groups/list", page)
        items = [Target(GROUP, str(e["id"]), str(e["name"]), size=e.get("nb_emails")) for e in elements]
        return TargetPage(items, following)

    async def _find(self, kind: str, spec: TargetSpec) -> Target | None:
        cursor: str | None = None
        while True:
            page = await self.list_targets(kind, cursor)
            for target in page.items:
                if (spec.id and target.id == spec.id) or (not spec.id and target.name == spec.name):
                    return target
            if page.next_cursor is None:
                return None
            cursor = page.next_cursor

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == CONTACTS:
            return Target(CONTACTS, CONTACTS, "Contacts")
        if spec.kind not in (GROUP, LIST):
            raise ConfigError(f"Splio has no target kind {spec.kind!r}")
        found = await self._find(spec.kind, spec)
        if found is not None:
            return found
        if spec.kind == LIST or spec.id or not spec.create_if_missing:
            what = (
                f"list {spec.id or spec.name!r}" if spec.kind == LIST else f"group {spec.id or spec.name!r}"
            )
            hint = " (lists are created in the Splio application)" if spec.kind == LIST else ""
            raise ConfigError(f"Splio has no {what}{hint}")
        response = await self._call(
            "POST",
            "/target/groups",
            json={"name": spec.name, "description": "Exported by Sluice", "source": "sluice", "keys": []},
        )
        if response.status_code >= 400:
            raise ConfigError(f"Splio could not create group {spec.name!r}: {splio_message(response)}")
        group = response.json().get("group") or {}
        return Target(GROUP, str(group["id"]), str(group.get("name") or spec.name), size=0)

    async def reset_target(self, target: Target) -> Target:
        """Full refresh of a group: Splio empties it in one call."""
        if target.kind != GROUP:
            return target
        response = await self._call("POST", f"/target/groups/{target.id}/clear")
        if response.status_code >= 400:
            raise ConfigError(f"Splio could not empty group {target.name!r}: {splio_message(response)}")
        return target

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind not in ALLOWED.get(target.kind, ()):
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, f"Splio {target.kind} targets do not support {op.kind}"
                )
                for op in ops
            ]
        if target.kind == GROUP:
            return await self._group(target, ops)
        if target.kind == LIST:
            return list(await asyncio.gather(*(self._list(target, op) for op in ops)))
        return await self._contacts(ops)

    async def _group(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        verb = "add" if ops[0].kind is OpKind.ADD else "remove"
        response = await self._call(
            "POST", f"/target/groups/{target.id}/{verb}", json={"keys": [op.identifier for op in ops]}
        )
        if response.status_code == 404:
            raise ConfigError(f"Splio group {target.name!r} no longer exists")
        if response.status_code >= 400:
            raise RowRejected(splio_message(response))
        missing = {str(k).lower() for k in response.json().get("keys_not_found") or []}
        outcomes = []
        for op in ops:
            if op.identifier.lower() not in missing:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif op.kind is OpKind.REMOVE:  # an unknown contact is in no group: nothing to remove
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, "nothing to remove: keys_not_found"))
            else:
                outcomes.append(
                    Outcome.of(
                        op, OutcomeStatus.REJECTED, "keys_not_found: Splio has no contact with this key"
                    )
                )
        return outcomes

    async def _list(self, target: Target, op: Op) -> Outcome:
        verb = "subscribe" if op.kind is OpKind.ADD else "unsubscribe"
        path = f"/data/contacts/{quote(op.identifier, safe='@')}/lists/{verb}"
        response = await self._call("POST", path, json={"list_ids": [int(target.id)]})
        if response.is_success:
            return Outcome.of(op, OutcomeStatus.DELIVERED)
        message = splio_message(response)
        if response.status_code == 404 and op.kind is OpKind.REMOVE:
            return Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {message}")
        return Outcome.of(op, OutcomeStatus.REJECTED, message)

    @staticmethod
    def _contact(op: Op) -> dict[str, Any]:
        clear = op.kind is OpKind.CLEAR
        body: dict[str, Any] = {"email": op.identifier}
        custom = []
        for name, value in op.fields.items():
            text = "" if clear else _text(value)
            if name in CONTACT_FIELDS:
                body[name] = text
            elif name != "email":
                custom.append({"name": name, "value": text})
        if custom:
            body["custom_fields"] = custom
        return body

    async def _custom_fields(self) -> set[str]:
        """Names of the universe's contact custom fields (read once per connector)."""
        if self._field_names is None:
            response = await self._call("GET", "/data/fields/contacts")
            if response.status_code >= 400:
                raise ConfigError(f"Splio could not list the contact fields: {splio_message(response)}")
            self._field_names = {
                str(e.get("name")) for e in response.json().get("elements") or [] if isinstance(e, dict)
            }
        return self._field_names

    async def _contacts(self, ops: Sequence[Op]) -> list[Outcome]:
        mapped = {name for op in ops for name in op.fields} - CONTACT_FIELDS - {"email"}
        unknown = sorted(mapped - await self._custom_fields())
        if unknown:  # every row would fail: the mapping is wrong, not the data
            raise ConfigError(
                f"the Splio universe has no contact custom field {', '.join(map(repr, unknown))}"
            )
        contacts = [self._contact(op) for op in ops]
        response = await self._call("POST", "/data/contacts/bulk", json={"contacts": contacts})
        if response.status_code >= 400 and response.status_code != 207:
            raise RowRejected(splio_message(response))
        items = {
            str(item.get("contact_id", "")).lower(): item
            for item in response.json().get("items") or []
            if isinstance(item, dict)
        }
        outcomes: list[Outcome | None] = [None] * len(ops)
        edits = []
        for index, op in enumerate(ops):
            item = items.get(op.identifier.lower()) or {}
            code = int(item.get("code") or 0)
            if 200 <= code < 300:
                outcomes[index] = Outcome.of(op, OutcomeStatus.DELIVERED)
            elif ALREADY_EXISTS in str(item.get("description", "")):
                edits.append(index)
            else:
                reason = str(
                    item.get("description") or f"Splio answered {code or 'nothing'} for this contact"
                )
                outcomes[index] = Outcome.of(op, OutcomeStatus.REJECTED, reason)
        edited = await asyncio.gather(*(self._edit(ops[i], contacts[i]) for i in edits))
        for index, outcome in zip(edits, edited, strict=True):
            outcomes[index] = outcome
        return [o for o in outcomes if o is not None]

    async def _edit(self, op: Op, contact: dict[str, Any]) -> Outcome:
        body = {k: v for k, v in contact.items() if k != "email"}  # the unique key cannot be edited
        response = await self._call("PATCH", f"/data/contacts/{quote(op.identifier, safe='@')}", json=body)
        if response.is_success:
            return Outcome.of(op, OutcomeStatus.DELIVERED)
        return Outcome.of(op, OutcomeStatus.REJECTED, splio_message(response))
