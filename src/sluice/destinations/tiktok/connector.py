"""TikTok API for Business v1.3: customer-file custom audiences (membership) and the Events API.

Membership: a segment becomes a customer-file custom audience of one advertiser. Every batch is
uploaded as a file of SHA-256 digests (``POST /dmp/custom_audience/file/upload/``, multipart with the
file's MD5 as ``file_signature``), then applied with ``POST /dmp/custom_audience/update/``
``{"action": "APPEND"|"REMOVE", "file_paths": [...]}``. TikTok processes files asynchronously and
refuses an update that would leave the audience under 1,000 people. An audience cannot be created
empty, so a new one is created from a file holding one digest that matches no one.

Events: conversions go to ``POST /event/track/`` (at most 1,000 per request) with ``event_id`` =
the row key (TikTok deduplicates on it), ``event_time`` in Unix seconds and SHA-256 hashed
``user.email`` / ``user.phone`` / ``user.external_id``.

TikTok answers HTTP 200 with ``{"code": 0, "message": "OK", "request_id", "data"}``; a non-zero
``code`` is an error. Identifiers are normalised and hashed here (TikTok rules). See README.md.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sluice.destinations.audiences import find_target, normalisation_problem, refuse_unsupported
from sluice.destinations.errors import ConfigError, RateLimited, RowRejected, Transient
from sluice.destinations.events import EVENT_TIME_FIELD, event_time, event_time_reason
from sluice.destinations.hashing import TIKTOK, PiiField, hash_value, unmatchable_digest
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
from sluice.destinations.tiktok.config import TikTokActivationDefaults, TikTokConfig

CUSTOM_AUDIENCE = "custom_audience"
EVENT = "event"
BATCH_LIMIT = 1_000  # events per /event/track/ request; also rows per uploaded audience file
PAGE = 100  # /dmp/custom_audience/list/ page_size maximum
MIN_AUDIENCE = 1_000
EVENT_MAX_AGE = 7 * 86400.0
#: TikTok's standard events (custom event names are accepted too)
STANDARD_EVENTS = (
    "AddPaymentInfo",
    "AddToCart",
    "AddToWishlist",
    "ClickButton",
    "CompletePayment",
    "CompleteRegistration",
    "Contact",
    "Download",
    "InitiateCheckout",
    "PlaceAnOrder",
    "Search",
    "SubmitForm",
    "Subscribe",
    "ViewContent",
)
#: identifier kind → audience file ``calculate_type`` and its normalisation
CALCULATE_TYPES: dict[IdentifierKind, tuple[str, PiiField]] = {
    IdentifierKind.EMAIL: ("EMAIL_SHA256", PiiField.EMAIL),
    IdentifierKind.HASHED: ("EMAIL_SHA256", PiiField.EMAIL),
    IdentifierKind.PHONE: ("PHONE_SHA256", PiiField.PHONE),
}
#: identifier kind → Events API ``user`` key and its normalisation
USER_KEYS: dict[IdentifierKind, tuple[str, PiiField]] = {
    IdentifierKind.EMAIL: ("email", PiiField.EMAIL),
    IdentifierKind.HASHED: ("email", PiiField.EMAIL),
    IdentifierKind.PHONE: ("phone", PiiField.PHONE),
    IdentifierKind.EXTERNAL_ID: ("external_id", PiiField.EXTERNAL_ID),
}
#: mapped fields sent in ``properties``
PROPERTIES = frozenset({"value", "currency", "order_id", "content_type", "description", "query"})
#: return codes that need the user: no permission, token missing / invalid / revoked
CONFIG_CODES = frozenset({40001, 40104, 40105, 40106})
RATE_CODES = frozenset({40100, 40133})
TRANSIENT_CODES = frozenset({40200, 50000, 50002})


class TikTokRefusal(Exception):
    """A non-zero ``code`` TikTok answered for the request as a whole."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} (code {code})")
        self.code, self.message = code, message


class TikTokConnector(Connector):
    """Custom audiences and conversions of one TikTok advertiser."""

    type_name = "tiktok"
    title = "TikTok"
    description = (
        "Export segments as TikTok customer-file custom audiences and send conversions (SHA-256 hashed)."
    )
    docs_url = "https://business-api.tiktok.com/portal/docs?id=1739940572667906"
    config_model = TikTokConfig
    activation_defaults = TikTokActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.EVENTS}),
        target_kinds=frozenset({CUSTOM_AUDIENCE, EVENT}),
        identifiers=frozenset(set(CALCULATE_TYPES) | set(USER_KEYS)),
        batch_size=BATCH_LIMIT,
        concurrency=2,
        rate_limit=None,
        can_create_targets=True,
        can_read_members=False,
        read_members_note="TikTok never returns the people in a custom audience (only its coverage).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="TikTok accepts every hashed identifier in a file and matches it later; "
        "it never reports who was not found.",
        deduplicates_events=True,
        event_max_age=EVENT_MAX_AGE,
    )
    config: TikTokConfig

    @classmethod
    def base_url(cls, config: TikTokConfig) -> str:
        return config.base_url or "https://business-api.tiktok.com/open_api/v1.3"

    @classmethod
    def auth_headers(cls, config: TikTokConfig) -> dict[str, str]:
        return {"Access-Token": config.access_token.get_secret_value()}

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call; its ``data`` when ``code`` is 0, else the SDK's error groups or :class:`TikTokRefusal`."""
        response = await self.http.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        message = str(body.get("message") or f"HTTP {response.status_code}") if isinstance(body, dict) else ""
        if response.status_code in (401, 403) or code in CONFIG_CODES:
            raise ConfigError(f"TikTok refused the access token or its permissions: {message} (code {code})")
        if code in RATE_CODES:
            raise RateLimited(f"TikTok throttled the request: {message} (code {code})")
        if code in TRANSIENT_CODES:
            raise Transient(f"TikTok: {message} (code {code})")
        if code != 0:
            raise TikTokRefusal(int(code) if isinstance(code, int) else response.status_code, message)
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    # -- connection and targets ------------------------------------------------------------

    @property
    def _advertiser(self) -> str:
        return self.config.advertiser_id

    async def check(self) -> str:
        try:
            data = await self._call(
                "GET", "/advertiser/info/", params={"advertiser_ids": json.dumps([self._advertiser])}
            )
        except TikTokRefusal as exc:
            raise ConfigError(f"TikTok advertiser {self._advertiser}: {exc}") from None
        found = (data.get("list") or [{}])[0]
        return f"connected to advertiser {found.get('name', self._advertiser)!r}"

    def _target(self, audience: dict[str, Any]) -> Target:
        size = audience.get("cover_num")
        return Target(
            CUSTOM_AUDIENCE,
            str(audience.get("audience_id") or audience.get("custom_audience_id")),
            str(audience.get("name", "")),
            parent_id=self._advertiser,
            size=int(size) if isinstance(size, int) else None,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == EVENT:
            return TargetPage([Target(EVENT, name, name) for name in STANDARD_EVENTS])
        page = int(cursor or 1)
        params = {"advertiser_id": self._advertiser, "page": page, "page_size": PAGE}
        try:
            data = await self._call("GET", "/dmp/custom_audience/list/", params=params)
        except TikTokRefusal as exc:
            raise ConfigError(f"TikTok could not list custom audiences: {exc}") from None
        items = [self._target(a) for a in data.get("list") or []]
        total = int((data.get("page_info") or {}).get("total_page") or page)
        return TargetPage(items, str(page + 1) if page < total else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == EVENT:
            name = (spec.id or spec.name).strip()
            if not name:
                raise ConfigError(
                    "name the TikTok event (a standard event such as CompletePayment, or a custom one)"
                )
            if not self.config.pixel_code:
                raise ConfigError(
                    "TikTok conversions need the pixel code (or offline event set id) in the destination"
                )
            return Target(EVENT, name, name, parent_id=self.config.pixel_code)
        if spec.id:
            params = {"advertiser_id": self._advertiser, "custom_audience_ids": json.dumps([spec.id])}
            try:
                data = await self._call("GET", "/dmp/custom_audience/get/", params=params)
            except TikTokRefusal as exc:
                raise ConfigError(f"TikTok custom audience {spec.id} is not available: {exc}") from None
            found = (data.get("list") or [{}])[0].get("audience_details") or {}
            if not found:
                raise ConfigError(f"TikTok custom audience {spec.id} is not available")
            return self._target(found)
        found = await find_target(self, CUSTOM_AUDIENCE, spec.name)
        if found is not None:
            return found
        if not spec.create_if_missing:
            raise ConfigError(f"TikTok has no custom audience named {spec.name!r}")
        calculate_type = CALCULATE_TYPES.get(spec.identifier_kind, CALCULATE_TYPES[IdentifierKind.EMAIL])[0]
        try:
            path = await self._upload([unmatchable_digest()], calculate_type)
            body = {
                "advertiser_id": self._advertiser,
                "custom_audience_name": spec.name[:128],
                "calculate_type": calculate_type,
                "file_paths": [path],
            }
            data = await self._call("POST", "/dmp/custom_audience/create/", json=body)
        except TikTokRefusal as exc:
            raise ConfigError(f"TikTok could not create custom audience {spec.name!r}: {exc}") from None
        return Target(
            CUSTOM_AUDIENCE, str(data["custom_audience_id"]), spec.name, parent_id=self._advertiser, size=0
        )

    # -- identifiers -------------------------------------------------------------------------

    def _hash(self, field: PiiField, value: str) -> str:
        return hash_value(field, value, TIKTOK, default_region=self.config.default_country)

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse identifiers TikTok's rules cannot normalise, and conversions outside the window."""
        table = USER_KEYS if op.kind is OpKind.EVENT else CALCULATE_TYPES
        if kind not in table:
            return f"TikTok {'events' if op.kind is OpKind.EVENT else 'custom audiences'} do not take {kind} identifiers"
        if op.kind is OpKind.EVENT:
            problem = event_time_reason(op, self.capabilities.event_max_age, self.http.clock(), "TikTok")
            if problem:
                return problem
        if kind is IdentifierKind.HASHED:
            return super().invalid_reason(op, kind)
        field = table[kind][1]
        return normalisation_problem(lambda: self._hash(field, op.identifier or ""))

    # -- delivery ----------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        allowed = {CUSTOM_AUDIENCE: (OpKind.ADD, OpKind.REMOVE), EVENT: (OpKind.EVENT,)}
        refused = refuse_unsupported(self, target, ops, allowed)
        if refused is not None:
            return refused
        if ops[0].kind is OpKind.EVENT:
            return await self._track(target, ops)
        return await self._update_audience(target, ops)

    async def _upload(self, digests: list[str], calculate_type: str) -> str:
        """Upload one file of digests; its ``file_path``."""
        content = "\n".join(digests).encode()
        form = {
            "advertiser_id": self._advertiser,
            "calculate_type": calculate_type,
            "file_signature": hashlib.md5(content).hexdigest(),  # noqa: S324 - TikTok's integrity check
        }
        files = {"file": (f"sluice-{uuid.uuid4().hex[:12]}.txt", content, "text/plain")}
        data = await self._call("POST", "/dmp/custom_audience/file/upload/", form=form, files=files)
        return str(data["file_path"])

    async def _update_audience(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        calculate_type, field = CALCULATE_TYPES[target.identifier_kind]
        digests = list(dict.fromkeys(self._hash(field, op.identifier) for op in ops))
        action = "APPEND" if ops[0].kind is OpKind.ADD else "REMOVE"
        try:
            path = await self._upload(digests, calculate_type)
            body = {
                "advertiser_id": self._advertiser,
                "custom_audience_id": target.id,
                "action": action,
                "file_paths": [path],
            }
            await self._call("POST", "/dmp/custom_audience/update/", json=body)
        except TikTokRefusal as exc:
            if "not exist" in exc.message:
                raise ConfigError(f"TikTok custom audience {target.id} no longer exists: {exc}") from None
            # the file is applied as a whole (its digests are well-formed): every row shares TikTok's reason
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"TikTok refused the {action}: {exc}") for op in ops
            ]
        note = "accepted; TikTok matches the file asynchronously"
        return [Outcome.of(op, OutcomeStatus.DELIVERED, note) for op in ops]

    def _event(self, target: Target, op: Op) -> dict[str, Any]:
        key, field = USER_KEYS[target.identifier_kind]
        properties: dict[str, Any] = {
            k: v for k, v in op.fields.items() if k in PROPERTIES and v not in (None, "")
        }
        if "value" in properties:
            properties["value"] = float(properties["value"])
        return {
            "event": target.id,
            "event_time": int(event_time(op.fields.get(EVENT_TIME_FIELD)).timestamp()),
            "event_id": op.key,
            "user": {key: self._hash(field, op.identifier)},
            "properties": properties,
        }

    async def _track(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        body: dict[str, Any] = {
            "event_source": self.config.event_source,
            "event_source_id": target.parent_id or self.config.pixel_code,
            "data": [self._event(target, op) for op in ops],
        }
        if self.config.test_event_code:
            body["test_event_code"] = self.config.test_event_code
        try:
            await self._call("POST", "/event/track/", json=body)
        except TikTokRefusal as exc:
            raise RowRejected(str(exc)) from None
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]
