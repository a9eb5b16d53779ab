"""A local fake of the Google Ads API's conversion upload service.

Faithful to (sources in README.md): ``POST /{version}/customers/{id}:uploadClickConversions`` and
``…:uploadConversionAdjustments`` with ``partialFailure`` required (``PARTIAL_FAILURE_MODE_REQUIRED``
otherwise), **at most 2,000 rows per request** (``TOO_MANY_CONVERSIONS_IN_REQUEST`` /
``TOO_MANY_ADJUSTMENTS_IN_REQUEST``, recorded as a limit violation), ``conversionDateTime`` as
``yyyy-mm-dd hh:mm:ss+|-hh:mm``, gclid/gbraid/wbraid (not both gbraid and wbraid), hashed
``userIdentifiers`` that must be SHA-256 digests (``INVALID_USER_IDENTIFIER``, a violation),
clicks older than 90 days (``EXPIRED_EVENT``), conversions before their click
(``CONVERSION_PRECEDES_EVENT``), unknown clicks (``CLICK_NOT_FOUND``), deduplication by order id
(``ORDER_ID_ALREADY_IN_USE``; ``DUPLICATE_ORDER_ID`` within one request) and by click + time
(``CLICK_CONVERSION_ALREADY_EXISTS``), results with an empty object for failed rows, and
adjustments by order id or gclid + time (``CONVERSION_NOT_FOUND``, ``CONVERSION_ALREADY_RETRACTED``).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request

from sluice.destinations.emulation import ReceivedEvent
from sluice.destinations.google_ads.fake import GoogleAdsApiEmulator, GoogleError, ads_error
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

ROW_LIMIT = 2_000
CLICK_WINDOW = timedelta(days=90)
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}")
CLICK_ID = re.compile(r"[A-Za-z0-9_-]{8,}")
SHA256 = re.compile(r"[0-9a-f]{64}")
HASHED_KEYS = ("hashedEmail", "hashedPhoneNumber")
UNKNOWN_CONTACT = "can't be matched to a click"


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S%z" if "." not in text else "%Y-%m-%d %H:%M:%S.%f%z")


@dataclass
class Conversion:
    action_id: str
    order_id: str
    occurred_at: datetime
    click_id: str | None
    hashes: list[str]
    value: float | None
    currency: str | None
    consent: dict[str, Any]
    retracted: bool = False
    restated_value: float | None = None
    enhanced: bool = False


@dataclass
class ConversionAction:
    id: str
    name: str
    type: str = "UPLOAD_CLICKS"
    status: str = "ENABLED"
    conversions: list[Conversion] = field(default_factory=list)


class GoogleAdsConversionsEmulator(GoogleAdsApiEmulator):
    """One Google Ads customer with click-import conversion actions and the clicks behind them."""

    name = "google_ads_conversions"
    identifier_kind = IdentifierKind.PLATFORM_ID
    batch_limit = ROW_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT
    event_specs = (
        TargetSpec(kind="conversion_action", name="Sluice purchases", identifier_kind=IdentifierKind.EMAIL),
    )
    requires_hashing = True

    def __init__(self, **kwargs: Any) -> None:
        self.actions: dict[str, ConversionAction] = {}
        self.clicks: dict[str, datetime] = {}  # click id → when the ad was clicked
        self.known: dict[str, str] = {}  # hash → identifier the suite seeded
        self.unhashed_refusals = 0
        self._ids = itertools.count(801)
        super().__init__(**kwargs)
        self.add_action("Sluice purchases")

    def add_action(self, name: str, type_: str = "UPLOAD_CLICKS") -> ConversionAction:
        action = ConversionAction(str(next(self._ids)), name, type_)
        self.actions[action.id] = action
        return action

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def resources(self) -> dict[str, Callable[[], Iterable[dict[str, Any]]]]:
        def actions() -> Iterable[dict[str, Any]]:
            for action in self.actions.values():
                yield {
                    "conversion_action": {
                        "resource_name": f"customers/{self.customer_id}/conversionActions/{action.id}",
                        "id": action.id,
                        "name": action.name,
                        "type": action.type,
                        "status": action.status,
                    }
                }

        return {**super().resources(), "conversion_action": actions}

    # -- routes ------------------------------------------------------------------------------

    def add_ads_routes(self, app: FastAPI) -> None:
        @app.post("/{version}/customers/{customer_id}:uploadClickConversions")
        async def upload_clicks(version: str, customer_id: str, request: Request) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            body = await self.json_body(request) or {}
            rows = self._rows(body, "conversions", "conversionUploadError", "TOO_MANY_CONVERSIONS_IN_REQUEST")
            seen_orders: set[str] = set()
            results: list[dict[str, Any]] = []
            failures: list[dict[str, Any]] = []
            for index, row in enumerate(rows):
                error = self._click_conversion(index, row, seen_orders)
                if error is None:
                    results.append(
                        {
                            key: row[key]
                            for key in ("gclid", "gbraid", "wbraid", "conversionAction", "conversionDateTime")
                            if key in row
                        }
                    )
                else:
                    results.append({})
                    failures.append(error)
            return self._answer(results, failures, job=True)

        @app.post("/{version}/customers/{customer_id}:uploadConversionAdjustments")
        async def upload_adjustments(version: str, customer_id: str, request: Request) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            body = await self.json_body(request) or {}
            rows = self._rows(
                body,
                "conversionAdjustments",
                "conversionAdjustmentUploadError",
                "TOO_MANY_ADJUSTMENTS_IN_REQUEST",
            )
            results: list[dict[str, Any]] = []
            failures: list[dict[str, Any]] = []
            for index, row in enumerate(rows):
                error = self._adjust(index, row)
                if error is None:
                    results.append(
                        {
                            k: row[k]
                            for k in ("conversionAction", "adjustmentType", "adjustmentDateTime", "orderId")
                            if k in row
                        }
                    )
                else:
                    results.append({})
                    failures.append(error)
            return self._answer(results, failures, job=False)

    def _rows(self, body: dict[str, Any], key: str, family: str, too_many: str) -> list[dict[str, Any]]:
        if body.get("partialFailure") is not True:
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    ads_error(
                        "partialFailureError",
                        "PARTIAL_FAILURE_MODE_REQUIRED",
                        "The partial failure field was false in the request. This method requires this field be set to true.",
                    )
                ],
            )
        rows = body.get(key) or []
        if len(rows) > ROW_LIMIT:
            self.violation(f"{key}: {len(rows)} rows in one request")
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    ads_error(
                        family, too_many, "Upload fewer than 2001 events in a single request.", (key, None)
                    )
                ],
            )
        return [row if isinstance(row, dict) else {} for row in rows]

    def _answer(
        self, results: list[dict[str, Any]], failures: list[dict[str, Any]], *, job: bool
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {"results": results}
        if job:
            answer["jobId"] = str(next(self._ids))
        if failures:
            answer["partialFailureError"] = {
                "code": 3,
                "message": f"{failures[0]['message']}, at {failures[0]['location']['fieldPathElements'][0]['fieldName']}[{failures[0]['location']['fieldPathElements'][0]['index']}]",
                "details": [{"@type": self.failure_type, "errors": failures}],
            }
        return answer

    def _action(self, resource_name: str) -> ConversionAction | None:
        prefix = f"customers/{self.customer_id}/conversionActions/"
        return (
            self.actions.get(resource_name.removeprefix(prefix)) if resource_name.startswith(prefix) else None
        )

    def _hashes(self, row: dict[str, Any]) -> list[str] | None:
        hashes = []
        for identifier in row.get("userIdentifiers") or []:
            for key in HASHED_KEYS:
                value = identifier.get(key) if isinstance(identifier, dict) else None
                if value is None:
                    continue
                if not SHA256.fullmatch(str(value)):
                    self.unhashed_refusals += 1
                    self.violation(f"unhashed value in {key}")
                    return None
                hashes.append(str(value))
        return hashes

    def _click_conversion(
        self, index: int, row: dict[str, Any], seen_orders: set[str]
    ) -> dict[str, Any] | None:
        def fail(family: str, code: str, message: str, field_name: str | None = None) -> dict[str, Any]:
            path: list[tuple[str, int | None]] = [("conversions", index)]
            if field_name:
                path.append((field_name, None))
            return ads_error(family, code, message, *path)

        action = self._action(str(row.get("conversionAction", "")))
        if action is None or action.type != "UPLOAD_CLICKS":
            return fail(
                "conversionUploadError",
                "INVALID_CONVERSION_ACTION",
                "The conversion action is not valid for uploads.",
                "conversion_action",
            )
        text = str(row.get("conversionDateTime", ""))
        if not DATE_TIME.fullmatch(text):
            self.violation(f"conversionDateTime {text!r}")
            return fail(
                "dateError",
                "INVALID_FIELD_VALUES_IN_DATE_TIME",
                "The field values in the date time are invalid.",
                "conversion_date_time",
            )
        occurred = parse_time(text)
        hashes = self._hashes(row)
        if hashes is None:
            return fail(
                "conversionUploadError",
                "INVALID_USER_IDENTIFIER",
                "The user identifier is not a valid SHA-256 hash.",
                "user_identifiers",
            )
        if "gbraid" in row and "wbraid" in row:
            return fail(
                "conversionUploadError", "GBRAID_WBRAID_BOTH_SET", "Only one of gbraid and wbraid may be set."
            )
        click_id = next((str(row[k]) for k in ("gclid", "gbraid", "wbraid") if row.get(k)), None)
        if click_id is None and not hashes:
            return fail(
                "conversionUploadError",
                "CLICK_NOT_FOUND",
                "The imported event can't be matched to a click: it has no click id or user identifier.",
            )
        if click_id is not None:
            if not CLICK_ID.fullmatch(click_id):
                return fail(
                    "conversionUploadError",
                    "UNPARSEABLE_GCLID",
                    "The imported gclid could not be decoded.",
                    "gclid",
                )
            clicked = self.clicks.get(click_id)
            if clicked is None:
                return fail(
                    "conversionUploadError",
                    "CLICK_NOT_FOUND",
                    f"The imported event {UNKNOWN_CONTACT}.",
                    "gclid",
                )
            if occurred < clicked:
                return fail(
                    "conversionUploadError",
                    "CONVERSION_PRECEDES_EVENT",
                    "The imported event has a conversion_date_time that precedes the click.",
                    "conversion_date_time",
                )
            if self.now() - clicked > CLICK_WINDOW:
                return fail(
                    "conversionUploadError",
                    "EXPIRED_EVENT",
                    "The imported event can't be recorded because its click occurred before this conversion's click-through window.",
                )
        order_id = str(row.get("orderId") or "")
        if order_id and order_id in seen_orders:
            return fail(
                "conversionUploadError",
                "DUPLICATE_ORDER_ID",
                "The request contains two events with the same order ID.",
                "order_id",
            )
        if order_id and any(c.order_id == order_id for c in action.conversions):
            return fail(
                "conversionUploadError",
                "ORDER_ID_ALREADY_IN_USE",
                "The order ID of this event was already used by an earlier upload.",
                "order_id",
            )
        if click_id and any(c.click_id == click_id and c.occurred_at == occurred for c in action.conversions):
            return fail(
                "conversionUploadError",
                "CLICK_CONVERSION_ALREADY_EXISTS",
                "The imported event has the same click and conversion_date_time as an existing conversion.",
            )
        if order_id:
            seen_orders.add(order_id)
        value = row.get("conversionValue")
        action.conversions.append(
            Conversion(
                action.id,
                order_id,
                occurred,
                click_id,
                hashes,
                float(value) if value is not None else None,
                row.get("currencyCode"),
                dict(row.get("consent") or {}),
            )
        )
        return None

    def _adjust(self, index: int, row: dict[str, Any]) -> dict[str, Any] | None:
        def fail(code: str, message: str) -> dict[str, Any]:
            return ads_error(
                "conversionAdjustmentUploadError", code, message, ("conversion_adjustments", index)
            )

        action = self._action(str(row.get("conversionAction", "")))
        if action is None:
            return fail("INVALID_CONVERSION_ACTION", "The conversion action is not valid for adjustments.")
        if not DATE_TIME.fullmatch(str(row.get("adjustmentDateTime", ""))):
            self.violation("adjustmentDateTime format")
            return ads_error(
                "dateError",
                "INVALID_FIELD_VALUES_IN_DATE_TIME",
                "The field values in the date time are invalid.",
                ("conversion_adjustments", index),
            )
        pair = row.get("gclidDateTimePair") or {}
        if pair:
            found = next(
                (
                    c
                    for c in action.conversions
                    if c.click_id == pair.get("gclid")
                    and DATE_TIME.fullmatch(str(pair.get("conversionDateTime", "")))
                    and c.occurred_at == parse_time(str(pair["conversionDateTime"]))
                ),
                None,
            )
        else:
            found = next(
                (c for c in action.conversions if c.order_id and c.order_id == str(row.get("orderId", ""))),
                None,
            )
        if found is None:
            return fail("CONVERSION_NOT_FOUND", "The conversion to adjust was not found.")
        kind = row.get("adjustmentType")
        if found.retracted:
            return fail("CONVERSION_ALREADY_RETRACTED", "The conversion was already retracted.")
        if kind == "RETRACTION":
            found.retracted = True
        elif kind == "RESTATEMENT":
            found.restated_value = float((row.get("restatementValue") or {}).get("adjustedValue", 0))
        elif kind == "ENHANCEMENT":
            hashes = self._hashes(row)
            if hashes is None:
                return fail("INVALID_USER_IDENTIFIER", "The user identifier is not a valid SHA-256 hash.")
            found.hashes.extend(hashes)
            found.enhanced = True
        else:
            return fail("INVALID_ADJUSTMENT_TYPE", f"Adjustment type {kind!r} is not supported.")
        return None

    def state(self) -> dict[str, Any]:
        return {
            "conversion_actions": [
                {
                    "id": a.id,
                    "name": a.name,
                    "conversions": len(a.conversions),
                    "retracted": sum(c.retracted for c in a.conversions),
                }
                for a in self.actions.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            **self.oauth.state(),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            if "@" in identifier:
                self.known[email_hash(identifier)] = identifier

    def seed_click(self, click_id: str, clicked_at: datetime) -> None:
        """A click on an ad of this customer (what a gclid stands for)."""
        self.clicks[click_id] = clicked_at

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {**self.ads_config(base_url, valid=valid), "ad_user_data_consent": "GRANTED"}

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="conversion_action", name="Sluice purchases")

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.add_action(name)

    def members(self, target: Target) -> set[str]:
        raise NotImplementedError("conversions are events, not members")

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        raise NotImplementedError("conversions are events, not members")

    def invalid_identifier(self) -> str:
        return "not-an-email"

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        click = f"Cj0KCQiA{number:06d}sluiceGclid"
        self.seed_click(click, occurred_at - timedelta(hours=1))
        return {"conversion_time": occurred_at, "value": 10.0 + number, "currency": "EUR", "gclid": click}

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        action = self.actions[target.id]
        return [
            ReceivedEvent(
                next((self.known[h] for h in c.hashes if h in self.known), c.click_id or ""),
                c.occurred_at,
                c.order_id or None,
                c.consent,
            )
            for c in action.conversions
            if not c.retracted
        ]

    def consent_fields(self, target: Target) -> tuple[dict[str, Any], dict[str, Any]] | None:
        return {"ad_user_data": True, "ad_personalization": "denied"}, {
            "adUserData": "GRANTED",
            "adPersonalization": "DENIED",
        }
