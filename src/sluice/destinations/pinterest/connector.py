"""Pinterest API v5: customer-list audiences (membership) and the API for Conversions (events).

Membership: a segment becomes a customer list of one ad account plus the ``CUSTOMER_LIST``
audience built on it (the audience is what ad groups target). Members are added and removed with
``PATCH /ad_accounts/{id}/customer_lists/{list_id}`` ``{"operation_type": "ADD"|"REMOVE",
"records": "<sha256>,<sha256>,…"}``. Pinterest requires records when a list is created, so a new
list starts with one digest that matches no one (:data:`PLACEHOLDER_RECORD`).

Events: conversions go to ``POST /ad_accounts/{id}/events`` (at most 1,000 per request) with
``event_id`` for deduplication, ``event_time`` in Unix seconds inside the attribution window and
SHA-256 hashed ``user_data``; ``test_mode`` adds ``?test=true``. Pinterest answers per event.

Identifiers are normalised and hashed here (:mod:`sluice.destinations.hashing`, Pinterest rules):
raw PII never leaves Sluice. See README.md for the facts and their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import httpx

from sluice.destinations.audiences import find_target, normalisation_problem, refuse_unsupported
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.events import EVENT_TIME_FIELD, event_time, event_time_reason
from sluice.destinations.hashing import PINTEREST, InvalidIdentifier, PiiField, hash_value, unmatchable_digest
from sluice.destinations.oauth import ClientAuth, OAuthApp
from sluice.destinations.pinterest.config import PinterestActivationDefaults, PinterestConfig
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Service,
    Target,
    TargetPage,
    TargetSpec,
)

CUSTOMER_LIST = "customer_list"
CONVERSION_EVENT = "conversion_event"
#: conversions per /events request (ConversionEvents.data maxItems); customer-list PATCHes carry as
#: many records (Pinterest publishes no cap for them, see README)
BATCH_LIMIT = 1_000
MIN_AUDIENCE = 100  # Pinterest users a customer list needs before it can be targeted
PAGE = 250
#: a digest of an address that cannot exist: a new list needs at least one record
PLACEHOLDER_RECORD = unmatchable_digest()
#: the event names Pinterest accepts (``ConversionEvents.data[].event_name``)
EVENT_NAMES = (
    "add_payment_info",
    "add_to_cart",
    "add_to_wishlist",
    "app_install",
    "checkout",
    "custom",
    "initiate_checkout",
    "lead",
    "page_visit",
    "search",
    "signup",
    "subscribe",
    "view_category",
    "view_content",
    "watch_video",
)
#: identifier kind → customer-list ``list_type`` and the field it is normalised as
LIST_TYPES: dict[IdentifierKind, tuple[str, PiiField]] = {
    IdentifierKind.EMAIL: ("EMAIL", PiiField.EMAIL),
    IdentifierKind.HASHED: ("EMAIL", PiiField.EMAIL),
    IdentifierKind.PLATFORM_ID: ("MAID", PiiField.MOBILE_AD_ID),
}
#: identifier kind → ``user_data`` key of a conversion
USER_KEYS: dict[IdentifierKind, tuple[str, PiiField]] = {
    IdentifierKind.EMAIL: ("em", PiiField.EMAIL),
    IdentifierKind.HASHED: ("em", PiiField.EMAIL),
    IdentifierKind.PHONE: ("ph", PiiField.PHONE),
    IdentifierKind.PLATFORM_ID: ("hashed_maids", PiiField.MOBILE_AD_ID),
    IdentifierKind.EXTERNAL_ID: ("external_id", PiiField.EXTERNAL_ID),
}
#: further mapped fields hashed into ``user_data`` (field name → key, normalisation)
EXTRA_USER_FIELDS: dict[str, tuple[str, PiiField]] = {
    "email": ("em", PiiField.EMAIL),
    "phone": ("ph", PiiField.PHONE),
    "first_name": ("fn", PiiField.FIRST_NAME),
    "last_name": ("ln", PiiField.LAST_NAME),
    "city": ("ct", PiiField.CITY),
    "state": ("st", PiiField.STATE),
    "zip": ("zp", PiiField.ZIP),
    "country": ("country", PiiField.COUNTRY),
    "external_id": ("external_id", PiiField.EXTERNAL_ID),
}
#: a mapped boolean sent as the event's ``opt_out`` (consent: opted out of tracking / personalised ads)
OPT_OUT_FIELD = "opt_out"
#: mapped fields sent as they are in ``custom_data``
CUSTOM_DATA = frozenset(
    {
        "currency",
        "value",
        "order_id",
        "num_items",
        "content_ids",
        "content_name",
        "content_category",
        "content_brand",
        "search_string",
    }
)


#: conversions older than this are not sent (Sluice's window; Pinterest publishes none, see README)
EVENT_MAX_AGE = 7 * 86400.0
#: Pinterest's OAuth server (refresh-token grant, client authenticated with HTTP Basic)
PINTEREST_OAUTH = OAuthApp(
    vendor="Pinterest",
    token_url="https://api.pinterest.com/v5/oauth/token",  # noqa: S106 - a URL, not a password
    authorize_url="https://www.pinterest.com/oauth/",
    scopes=("ads:read", "ads:write"),
    scope_separator=",",
    client_auth=ClientAuth.BASIC,
)


def pinterest_error(response: httpx.Response) -> str:
    """Pinterest's ``{"code", "message"}`` as text."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict) or "message" not in body:
        return f"HTTP {response.status_code}"
    return f"{body['message']} (code {body.get('code')})"


def per_event_answers(response: httpx.Response) -> list[dict[str, Any]] | None:
    """Per-event statuses: ``events`` of a 200, or of the ``details`` of a 422 ("not all events were
    successfully processed"); None when the whole request was refused."""
    if response.status_code not in (200, 422):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    holder = body if response.status_code == 200 else body.get("details") if isinstance(body, dict) else None
    answers = holder.get("events") if isinstance(holder, dict) else None
    return list(answers) if isinstance(answers, list) else None


def too_small_note(size: int | None) -> str:
    """The note delivered adds carry while the audience is below Pinterest's minimum."""
    if size is None or size >= MIN_AUDIENCE:
        return ""
    return f"audience too small to target: Pinterest needs at least {MIN_AUDIENCE} matched users ({size} now)"


class PinterestConnector(Connector):
    """Customer-list audiences and conversions of one Pinterest ad account."""

    type_name = "pinterest"
    title = "Pinterest"
    description = (
        "Export segments as Pinterest customer-list audiences and send conversions (SHA-256 hashed)."
    )
    docs_url = "https://developers.pinterest.com/docs/api/v5/customer_lists-update"
    config_model = PinterestConfig
    activation_defaults = PinterestActivationDefaults
    oauth_app: ClassVar[OAuthApp | None] = PINTEREST_OAUTH
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.EVENTS}),
        target_kinds=frozenset({CUSTOMER_LIST, CONVERSION_EVENT}),
        identifiers=frozenset(set(LIST_TYPES) | set(USER_KEYS)),
        batch_size=BATCH_LIMIT,
        concurrency=4,
        rate_limit=None,
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Pinterest never returns the people in a customer list (only counts).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Pinterest accepts every record and keeps those matching a Pinterest "
        "account; it never reports who was not found.",
        deduplicates_events=True,
        event_max_age=EVENT_MAX_AGE,
    )
    config: PinterestConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sizes: dict[str, int | None] = {}

    @classmethod
    def base_url(cls, config: PinterestConfig) -> str:
        return config.base_url or "https://api.pinterest.com/v5"

    @property
    def _account(self) -> str:
        return f"/ad_accounts/{self.config.ad_account_id}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Pinterest refused the access token: {pinterest_error(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", self._account)
        if not response.is_success:
            raise ConfigError(
                f"Pinterest ad account {self.config.ad_account_id}: {pinterest_error(response)}"
            )
        return f"connected to ad account {response.json().get('name', self.config.ad_account_id)!r}"

    async def _pages(self, path: str, bookmark: str | None) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, Any] = {"page_size": PAGE}
        if bookmark:
            params["bookmark"] = bookmark
        response = await self._call("GET", path, params=params)
        if not response.is_success:
            raise ConfigError(f"Pinterest could not list {path}: {pinterest_error(response)}")
        body = response.json()
        return list(body.get("items") or []), body.get("bookmark") or None

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == CONVERSION_EVENT:
            return TargetPage([Target(CONVERSION_EVENT, name, name) for name in EVENT_NAMES])
        items, bookmark = await self._pages(f"{self._account}/customer_lists", cursor)
        targets = [
            Target(
                CUSTOMER_LIST, str(item["id"]), str(item.get("name", "")), parent_id=self.config.ad_account_id
            )
            for item in items
        ]
        return TargetPage(targets, bookmark)

    async def _audience_of(self, list_id: str) -> dict[str, Any] | None:
        bookmark: str | None = None
        while True:
            items, bookmark = await self._pages(f"{self._account}/audiences", bookmark)
            for audience in items:
                if str((audience.get("rule") or {}).get("customer_list_id")) == list_id:
                    return audience
            if bookmark is None:
                return None

    async def _with_audience(self, list_id: str, name: str) -> Target:
        """The customer list as a target, its ``CUSTOMER_LIST`` audience created when missing."""
        audience = await self._audience_of(list_id)
        if audience is None:
            body = {
                "ad_account_id": self.config.ad_account_id,
                "name": name,
                "rule": {"customer_list_id": list_id},
                "audience_type": "CUSTOMER_LIST",
                "description": "Managed by Sluice",
            }
            response = await self._call("POST", f"{self._account}/audiences", json=body)
            if not response.is_success:
                raise ConfigError(
                    f"Pinterest could not create the audience of {name!r}: {pinterest_error(response)}"
                )
            audience = response.json()
        size = audience.get("size")
        target = Target(
            CUSTOMER_LIST,
            list_id,
            name,
            parent_id=self.config.ad_account_id,
            size=int(size) if isinstance(size, int) else None,
        )
        self._sizes[list_id] = target.size
        return target

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == CONVERSION_EVENT:
            name = spec.id or spec.name
            if name not in EVENT_NAMES:
                raise ConfigError(
                    f"Pinterest has no conversion event {name!r} (one of {', '.join(EVENT_NAMES)})"
                )
            await self.check()  # the ad account the conversions go to must be reachable
            return Target(CONVERSION_EVENT, name, name, parent_id=self.config.ad_account_id)
        if spec.id:
            response = await self._call("GET", f"{self._account}/customer_lists/{spec.id}")
            if not response.is_success:
                raise ConfigError(
                    f"Pinterest customer list {spec.id} is not available: {pinterest_error(response)}"
                )
            return await self._with_audience(spec.id, str(response.json().get("name", spec.name)))
        found = await find_target(self, CUSTOMER_LIST, spec.name)
        if found is not None:
            return await self._with_audience(found.id, found.name)
        if not spec.create_if_missing:
            raise ConfigError(f"Pinterest has no customer list named {spec.name!r}")
        list_type = LIST_TYPES.get(spec.identifier_kind, LIST_TYPES[IdentifierKind.EMAIL])[0]
        body = {"name": spec.name, "records": PLACEHOLDER_RECORD, "list_type": list_type}
        response = await self._call("POST", f"{self._account}/customer_lists", json=body)
        if not response.is_success:
            raise ConfigError(
                f"Pinterest could not create customer list {spec.name!r}: {pinterest_error(response)}"
            )
        return await self._with_audience(str(response.json()["id"]), spec.name)

    # -- identifiers -------------------------------------------------------------------------

    def _hash(self, field: PiiField, value: str) -> str:
        return hash_value(field, value, PINTEREST, default_region=self.config.default_country)

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse identifiers Pinterest's rules cannot normalise, and conversions outside the window."""
        if op.kind is OpKind.EVENT:
            if kind not in USER_KEYS:
                return f"Pinterest conversions do not match on {kind} identifiers"
            problem = event_time_reason(op, self.capabilities.event_max_age, self.http.clock(), "Pinterest")
            if problem:
                return problem
        elif kind not in LIST_TYPES:
            return f"Pinterest customer lists do not accept {kind} identifiers"
        if kind is IdentifierKind.HASHED:
            return super().invalid_reason(op, kind)
        field = (USER_KEYS if op.kind is OpKind.EVENT else LIST_TYPES)[kind][1]
        return normalisation_problem(lambda: self._hash(field, op.identifier or ""))

    # -- delivery ----------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        allowed = {CUSTOMER_LIST: (OpKind.ADD, OpKind.REMOVE), CONVERSION_EVENT: (OpKind.EVENT,)}
        refused = refuse_unsupported(self, target, ops, allowed)
        if refused is not None:
            return refused
        if ops[0].kind is OpKind.EVENT:
            return await self._send_events(target, ops)
        return await self._update_list(target, ops)

    async def _update_list(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        field = LIST_TYPES[target.identifier_kind][1]
        records = ",".join(dict.fromkeys(self._hash(field, op.identifier) for op in ops))
        body = {"operation_type": "ADD" if ops[0].kind is OpKind.ADD else "REMOVE", "records": records}
        response = await self._call("PATCH", f"{self._account}/customer_lists/{target.id}", json=body)
        if response.status_code == 404:
            raise ConfigError(
                f"Pinterest customer list {target.id} no longer exists: {pinterest_error(response)}"
            )
        if not response.is_success:
            raise RowRejected(pinterest_error(response))
        note = too_small_note(self._sizes.get(target.id, target.size)) if ops[0].kind is OpKind.ADD else ""
        return [Outcome.of(op, OutcomeStatus.DELIVERED, note) for op in ops]

    def _conversion(self, target: Target, op: Op) -> dict[str, Any]:
        key, field = USER_KEYS[target.identifier_kind]
        user_data: dict[str, list[str]] = {key: [self._hash(field, op.identifier)]}
        for name, (extra_key, extra_field) in EXTRA_USER_FIELDS.items():
            value = op.fields.get(name)
            if value in (None, ""):
                continue
            try:
                digest = self._hash(extra_field, str(value))
            except InvalidIdentifier:
                continue  # an unusable optional field only lowers the match rate
            if digest not in user_data.setdefault(extra_key, []):
                user_data[extra_key].append(digest)
        custom = {k: v for k, v in op.fields.items() if k in CUSTOM_DATA and v not in (None, "")}
        if "value" in custom:
            custom["value"] = str(custom["value"])
        if "content_ids" in custom:
            custom["content_ids"] = [str(c) for c in custom["content_ids"]]
        event: dict[str, Any] = {
            "event_name": target.id,
            "action_source": self.config.action_source,
            "event_time": int(event_time(op.fields.get(EVENT_TIME_FIELD)).timestamp()),
            "event_id": op.key,
            "user_data": user_data,
            "partner_name": "ss-sluice",
        }
        if custom:
            event["custom_data"] = custom
        opt_out = op.fields.get(OPT_OUT_FIELD)
        if isinstance(opt_out, bool):
            event["opt_out"] = opt_out  # the person opted out of tracking / ads personalisation
        return event

    async def _send_events(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        params = {"test": "true"} if self.config.test_mode else None
        body = {"data": [self._conversion(target, op) for op in ops]}
        response = await self._call("POST", f"{self._account}/events", json=body, params=params)
        answers = per_event_answers(response)
        if answers is None:
            raise RowRejected(pinterest_error(response))
        outcomes = []
        for op, answer in zip(ops, answers, strict=False):
            if answer.get("status") == "processed":
                outcomes.append(
                    Outcome.of(op, OutcomeStatus.DELIVERED, str(answer.get("warning_message") or ""))
                )
            else:
                outcomes.append(
                    Outcome.of(op, OutcomeStatus.REJECTED, str(answer.get("error_message") or "failed"))
                )
        return outcomes
