"""SAP Emarsys Core API v2: contact lists, contacts data and Relational Data Service (RDS) tables.

- Membership (target ``contact_list``): ``POST /v2/contactlist/{id}/add`` and ``…/delete``
  ``{"key_id": "3", "external_ids": […]}``; contacts are addressed by a key field (3 = email, or the
  configured external-id field) and must exist: unknown ones come back in ``data.errors`` as
  ``{"<value>": {"2008": "No contact found with the external id: …"}}``. Lists are found in
  ``GET /v2/contactlist`` and created by name with ``POST /v2/contactlist``. Members are read with
  ``GET /v2/contactlist/{id}/contactIds?$top=&$skiptoken=`` (``next`` path), then their key
  field with ``POST /v2/contact/getdata``.
- Upsert contacts (target ``contact``): ``PUT /v2/contact/?create_if_not_exists=1``
  ``{"key_id", "contacts": [{"<field id>": value, …}]}`` (≤ 1,000); per-contact errors in
  ``data.errors`` keyed by the key value. Mapped field names are resolved to field ids with
  ``GET /v2/field`` (id, ``string_id`` or name).
- Upsert custom table rows (target ``rds_table``): ``POST /rds/connections/{connection}/tables/{table}/records/upsert``
  ``[{"<key column>": identifier, …}]`` (≤ 1,000); removal *delete* is ``…/records/remove``.
  RDS reports errors per request only: delivery splits a refused batch to find the row.
- Auth: the X-WSSE UsernameToken (:mod:`.wsse`); rate limit 1,000 requests per minute per API
  user, ``X-RateLimit-Limit`` / ``X-Ratelimit-Remaining`` / ``X-RateLimit-Reset`` and 429.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import httpx

from sluice.destinations.emarsys.config import EmarsysActivationDefaults, EmarsysConfig
from sluice.destinations.emarsys.wsse import WsseAuth
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.http import RateHeaders, VendorHttp
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
from sluice.destinations.values import jsonable

CONTACT_LIST = "contact_list"
CONTACT = "contact"
RDS_TABLE = "rds_table"
EMAIL_FIELD = "3"
BATCH = 1000  # contacts per PUT /contact, records per RDS call (lists take up to 10,000)
MEMBER_PAGE = 10_000
GETDATA_LIMIT = 1000
NOT_FOUND_CODE = "2008"
INVALID_LIST_CODE = 3004


def emarsys_message(response: httpx.Response) -> str:
    """Emarsys' ``replyText`` (with its ``replyCode``) of an answer."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("replyText"):
        return f"{body['replyText']} (replyCode {body.get('replyCode')})"
    return f"HTTP {response.status_code}"


def _reply_code(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return int(body["replyCode"]) if isinstance(body, dict) and "replyCode" in body else None


def _data(response: httpx.Response) -> Any:
    body = response.json()
    return body.get("data") if isinstance(body, dict) else None


def _errors(data: Any) -> dict[str, str]:
    """``{"<key value>": {"<code>": "message"}}`` → key value → "message (code)"."""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, dict):
        return {}
    out: dict[str, str] = {}
    for key, detail in errors.items():
        if isinstance(detail, dict) and detail:
            code, message = next(iter(detail.items()))
            out[str(key).lower()] = f"{message} ({code})"
        else:
            out[str(key).lower()] = str(detail)
    return out


class EmarsysConnector(Connector):
    """Emarsys contacts addressed by email (field 3) or by the configured external-id field."""

    type_name = "emarsys"
    title = "Emarsys"
    description = (
        "Export segments to contact lists, synchronize contacts data and synchronize custom table "
        "data (Relational Data Service)."
    )
    docs_url = "https://dev.emarsys.com/docs/core-api-reference"
    config_model = EmarsysConfig
    activation_defaults = EmarsysActivationDefaults
    standard_fields = (
        StandardField("first_name", "first_name", "First Name (field 1)"),
        StandardField("last_name", "last_name", "Last Name (field 2)"),
        StandardField("birth_date", "birth_date", "Date of Birth (field 4, YYYY-MM-DD)"),
        StandardField("city", "city", "City (field 11)"),
        StandardField("country", "country", "Country (field 14)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({CONTACT_LIST, CONTACT, RDS_TABLE}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.EXTERNAL_ID}),
        batch_size=BATCH,
        concurrency=4,
        rate_limit=RateLimit(1000, 60.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the contact list's members and remove those not in the audience",
    )
    config: EmarsysConfig

    def __init__(self, config: EmarsysConfig, http: VendorHttp) -> None:
        super().__init__(config, http)
        if isinstance(http.auth, WsseAuth):  # sign with the HTTP layer's clock (virtual in tests)
            http.auth.clock = lambda: http.clock()
        self._fields: dict[str, str] | None = None

    @classmethod
    def base_url(cls, config: EmarsysConfig) -> str:
        return (config.base_url or "https://api.emarsys.net/api").rstrip("/")

    @classmethod
    def auth(cls, config: EmarsysConfig) -> httpx.Auth:
        return WsseAuth(config.username, config.secret.get_secret_value())

    @classmethod
    def rate_limit_for(cls, config: EmarsysConfig) -> RateLimit:
        return RateLimit(config.requests_per_minute, 60.0)

    rate_headers = staticmethod(RateHeaders.from_x_ratelimit)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(
                f"Emarsys refused the API user {self.config.username}: {emarsys_message(response)}"
            )
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/v2/settings")
        if response.status_code >= 400:
            raise ConfigError(f"Emarsys answered {emarsys_message(response)}")
        return f"connected to Emarsys as API user {self.config.username}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == CONTACT:
            return TargetPage([Target(CONTACT, CONTACT, "Emarsys contacts")])
        if kind == RDS_TABLE:
            return TargetPage([])  # RDS has no table listing; name the table
        # GET /contactlist is not paginated: one page holds every list
        return TargetPage([_list(item) for item in await self._lists()])

    async def _lists(self) -> list[dict[str, Any]]:
        response = await self._call("GET", "/v2/contactlist")
        if response.status_code >= 400:
            raise ConfigError(f"Emarsys contact lists: {emarsys_message(response)}")
        data = _data(response)
        return [item for item in data or [] if isinstance(item, dict)]

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == CONTACT:
            return Target(CONTACT, CONTACT, "Emarsys contacts")
        if spec.kind == RDS_TABLE:
            return self._rds_target(spec)
        if spec.kind != CONTACT_LIST:
            raise ConfigError(f"Emarsys has no target kind {spec.kind!r}")
        lists = await self._lists()
        for item in lists:
            if (spec.id and str(item.get("id")) == spec.id) or (
                not spec.id and item.get("name") == spec.name
            ):
                return _list(item)
        if spec.id:
            raise ConfigError(f"Emarsys contact list {spec.id} does not exist")
        if not spec.create_if_missing or not spec.name:
            raise ConfigError(f"Emarsys contact list {spec.name!r} does not exist")
        key_id = await self._key_id(spec.identifier_kind)
        response = await self._call(
            "POST", "/v2/contactlist", json={"key_id": key_id, "name": spec.name, "external_ids": []}
        )
        if response.status_code >= 400:
            raise ConfigError(
                f"Emarsys could not create contact list {spec.name!r}: {emarsys_message(response)}"
            )
        return Target(CONTACT_LIST, str(_data(response)["id"]), spec.name)

    def _rds_target(self, spec: TargetSpec) -> Target:
        table = spec.id or spec.name
        connection = spec.parent_id or self.config.rds_connection
        if not table or not connection:
            raise ConfigError("name the RDS table and its connection (config rds_connection)")
        return Target(RDS_TABLE, table, table, parent_id=connection)

    # -- fields ------------------------------------------------------------------------------

    async def _field_ids(self) -> dict[str, str]:
        """Field id, ``string_id`` and name (lower case) → field id, from ``GET /v2/field``."""
        if self._fields is None:
            response = await self._call("GET", "/v2/field")
            if response.status_code >= 400:
                raise ConfigError(f"Emarsys fields: {emarsys_message(response)}")
            fields: dict[str, str] = {}
            for item in _data(response) or []:
                field_id = str(item.get("id"))
                for alias in (field_id, item.get("string_id"), item.get("name")):
                    if alias:
                        fields.setdefault(str(alias).lower(), field_id)
            self._fields = fields
        return self._fields

    async def _field_id(self, name: str) -> str:
        found = (await self._field_ids()).get(name.lower())
        if found is None:
            raise RowRejected(f"Emarsys has no contact field {name!r} (GET /v2/field)")
        return found

    async def _key_id(self, kind: IdentifierKind) -> str:
        if kind is IdentifierKind.EMAIL:
            return EMAIL_FIELD
        if not self.config.external_id_field:
            raise ConfigError("set external_id_field (the Emarsys field holding your customer id)")
        found = (await self._field_ids()).get(self.config.external_id_field.lower())
        if found is None:
            raise ConfigError(f"Emarsys has no field {self.config.external_id_field!r} for external ids")
        return found

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        allowed = {
            CONTACT_LIST: (OpKind.ADD, OpKind.REMOVE),
            CONTACT: (OpKind.UPSERT, OpKind.CLEAR),
            RDS_TABLE: (OpKind.UPSERT, OpKind.CLEAR, OpKind.DELETE),
        }.get(target.kind, ())
        if kind not in allowed:
            why = (
                "Sluice does not delete Emarsys contacts; choose the removal behaviour clear or ignore"
                if kind is OpKind.DELETE
                else f"Emarsys {target.kind} targets do not support {kind}"
            )
            return [Outcome.of(op, OutcomeStatus.REJECTED, why) for op in ops]
        if target.kind == CONTACT_LIST:
            return await self._membership(target, ops)
        if target.kind == CONTACT:
            return await self._upsert_contacts(target, ops)
        return await self._rds(target, ops)

    async def _membership(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        adding = ops[0].kind is OpKind.ADD
        body = {
            "key_id": await self._key_id(target.identifier_kind),
            "external_ids": [op.identifier for op in ops],
        }
        path = f"/v2/contactlist/{quote(target.id)}/{'add' if adding else 'delete'}"
        response = await self._call("POST", path, json=body)
        if response.status_code >= 400:
            message = emarsys_message(response)
            if _reply_code(response) == INVALID_LIST_CODE:
                raise ConfigError(f"Emarsys contact list {target.id}: {message}")
            raise RowRejected(message)
        errors = _errors(_data(response))
        outcomes = []
        for op in ops:
            error = errors.get(op.identifier.lower())
            if error is None:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif not adding and NOT_FOUND_CODE in error:  # an unknown contact is in no list
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {error}"))
            else:
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, error))
        return outcomes

    async def _upsert_contacts(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        key_id = await self._key_id(target.identifier_kind)
        contacts = []
        for op in ops:
            contact: dict[str, Any] = {key_id: op.identifier}
            for name, value in op.fields.items():
                contact[await self._field_id(name)] = None if op.kind is OpKind.CLEAR else jsonable(value)
            contacts.append(contact)
        create = 1 if self.config.create_contacts else 0
        response = await self._call(
            "PUT",
            f"/v2/contact/?create_if_not_exists={create}",
            json={"key_id": key_id, "contacts": contacts},
        )
        if response.status_code >= 400:
            raise RowRejected(emarsys_message(response))
        errors = _errors(_data(response))
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, errors[op.identifier.lower()])
            if op.identifier.lower() in errors
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for op in ops
        ]

    async def _rds(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        key = self.config.rds_key_column
        records: list[dict[str, Any]]
        path = f"/rds/connections/{quote(target.parent_id or '')}/tables/{quote(target.id)}/records"
        if ops[0].kind is OpKind.DELETE:
            path, records = f"{path}/remove", [{key: op.identifier} for op in ops]
        else:
            path = f"{path}/upsert"
            records = [
                {
                    key: op.identifier,
                    **{n: None if op.kind is OpKind.CLEAR else jsonable(v) for n, v in op.fields.items()},
                }
                for op in ops
            ]
        response = await self._call("POST", path, json=records)
        if response.status_code == 404:
            raise ConfigError(
                f"Emarsys RDS table {target.parent_id}/{target.id}: {emarsys_message(response)}"
            )
        if response.status_code >= 400:
            raise RowRejected(emarsys_message(response))
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]

    # -- reading members ---------------------------------------------------------------------

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        if target.kind != CONTACT_LIST:
            raise ConfigError("Emarsys members can be read from contact lists only")
        key_id = await self._key_id(target.identifier_kind)
        params: dict[str, Any] | None = {"$top": MEMBER_PAGE}
        while params is not None:
            response = await self._call(
                "GET", f"/v2/contactlist/{quote(target.id)}/contactIds", params=params
            )
            if response.status_code >= 400:
                raise ConfigError(f"Emarsys contact list {target.id}: {emarsys_message(response)}")
            body = response.json()
            page = body.get("data", body) if isinstance(body, dict) else {}
            ids = [str(i) for i in page.get("value") or []]
            for start in range(0, len(ids), GETDATA_LIMIT):
                for value in await self._key_values(ids[start : start + GETDATA_LIMIT], key_id):
                    yield value
            params = _next_params(page.get("next"))

    async def _key_values(self, contact_ids: list[str], key_id: str) -> list[str]:
        body = {"fields": [key_id], "keyId": "id", "keyValues": contact_ids}
        response = await self._call("POST", "/v2/contact/getdata", json=body)
        if response.status_code >= 400:
            raise RowRejected(emarsys_message(response))
        result = (_data(response) or {}).get("result") or []
        return [str(row[key_id]) for row in result if isinstance(row, dict) and row.get(key_id)]


def _list(item: dict[str, Any]) -> Target:
    return Target(CONTACT_LIST, str(item["id"]), str(item.get("name", item["id"])))


def _next_params(next_path: Any) -> dict[str, Any] | None:
    """The query of the ``next`` path (``/contactlist/330/contactIds?$skiptoken=750&$top=1000``)."""
    if not next_path:
        return None
    query = parse_qs(urlparse(str(next_path)).query)
    return {name: values[0] for name, values in query.items()}
