"""A local fake of the Search Ads 360 API v2 conversion upload (``doubleclicksearch/v2``).

Faithful to (sources in README.md): Google's OAuth bearer tokens (scope doubleclicksearch),
``POST /doubleclicksearch/v2/conversion`` with a ``doubleclicksearch#conversionList`` whose
conversions need ``conversionId``, ``conversionTimestamp`` (epoch milliseconds) and
``segmentationType FLOODLIGHT`` (+ ``segmentationName`` or ``segmentationId`` of a Floodlight
activity), ``clickId``, ``revenueMicros``/``currencyCode``/``quantityMillis``, and the answer
echoing the conversion list; the combination of id and timestamp is unique per advertiser.

Stated assumptions (not confirmed against a live account): the request is all-or-nothing (one
invalid conversion refuses the whole request, ``{"error": {"errors": [{"domain": "global",
"reason": "invalid", "message": …}], "code": 400, "message": …}}``), an identical resend of a
conversion is accepted without counting it twice while a *different* conversion with the same id
and timestamp is refused ("already exists"), at most 200 conversions per request, personal data
(an email address in any field) is refused, and ``GET …/agency/{a}/advertiser/{b}/savedcolumns``
answers for an accessible advertiser (Sluice's connection check).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request

from sluice.destinations.emulation import ReceivedEvent
from sluice.destinations.google_ads.fake import STATUS_CODES, GoogleEmulator, GoogleError
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

ROW_LIMIT = 200
AGENCY_ID, ADVERTISER_ID = "20700", "21700"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DIGITS = re.compile(r"[0-9]+")
PREFIX = "/doubleclicksearch/v2"
UNKNOWN_CONTACT = "Invalid click ID"


class Sa360Emulator(GoogleEmulator):
    """One SA360 agency/advertiser with Floodlight activities and the clicks behind conversions."""

    name = "sa360"
    identifier_kind = IdentifierKind.PLATFORM_ID
    batch_limit = ROW_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT
    scope = "https://www.googleapis.com/auth/doubleclicksearch"
    event_specs = (
        TargetSpec(
            kind="floodlight_activity", name="Offline purchase", identifier_kind=IdentifierKind.PLATFORM_ID
        ),
    )

    def __init__(self, **kwargs: Any) -> None:
        self.agency_id, self.advertiser_id = AGENCY_ID, ADVERTISER_ID
        self._ids = itertools.count(5501)
        self.activities: dict[str, str] = {}  # Floodlight activity name → id
        self.clicks: set[str] = set()
        self.conversions: dict[tuple[str, str], dict[str, Any]] = {}  # (id, timestamp) → conversion
        self.pii_refusals = 0
        super().__init__(**kwargs)
        self.add_activity("Offline purchase")

    def add_activity(self, name: str) -> str:
        self.activities[name] = str(next(self._ids))
        return self.activities[name]

    def error_body(self, status: str, message: str, ads_errors: list[dict[str, Any]] | None = None) -> Any:
        reason = {"INVALID_ARGUMENT": "invalid", "PERMISSION_DENIED": "forbidden"}.get(status, status.lower())
        return {
            "error": {
                "errors": [{"domain": "global", "reason": reason, "message": message}],
                "code": STATUS_CODES.get(status, 400),
                "message": message,
            }
        }

    def _advertiser(self, agency: Any, advertiser: Any) -> None:
        if (str(agency), str(advertiser)) != (self.agency_id, self.advertiser_id):
            raise GoogleError("PERMISSION_DENIED", "The caller does not have permission")

    def add_api_routes(self, app: FastAPI) -> None:
        @app.get(f"{PREFIX}/agency/{{agency}}/advertiser/{{advertiser}}/savedcolumns")
        def saved_columns(agency: str, advertiser: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            self._advertiser(agency, advertiser)
            return {"kind": "doubleclicksearch#savedColumnList", "items": []}

        @app.post(f"{PREFIX}/conversion")
        async def insert(request: Request) -> dict[str, Any]:
            self.authorise(request)
            body = await self.json_body(request) or {}
            rows = body.get("conversion") or []
            if len(rows) > ROW_LIMIT:
                self.violation(f"{len(rows)} conversions in one request")
                raise GoogleError(
                    "INVALID_ARGUMENT",
                    f"The request was not valid. Details: at most {ROW_LIMIT} conversions per request.",
                )
            new: dict[tuple[str, str], dict[str, Any]] = {}
            for index, row in enumerate(rows):
                key = self._validate(index, row if isinstance(row, dict) else {})
                held = self.conversions.get(key) or new.get(key)
                if held is not None and held != row:
                    raise GoogleError(
                        "INVALID_ARGUMENT",
                        f"The request was not valid. Details: conversion {key[0]} with timestamp {key[1]} already exists.",
                    )
                new[key] = row
            self.conversions.update(new)  # all or nothing: stored only when every row is valid
            return {"kind": "doubleclicksearch#conversionList", "conversion": rows}

    def _validate(self, index: int, row: dict[str, Any]) -> tuple[str, str]:
        def invalid(detail: str) -> GoogleError:
            return GoogleError(
                "INVALID_ARGUMENT", f"The request was not valid. Details: conversion[{index}]: {detail}"
            )

        for value in row.values():
            if isinstance(value, str) and EMAIL.search(value):
                self.pii_refusals += 1
                self.violation("personal data in a conversion")
                raise invalid("personally identifiable information is not allowed.")
        self._advertiser(row.get("agencyId"), row.get("advertiserId"))
        if not row.get("conversionId"):
            raise invalid("conversionId is required.")
        timestamp = str(row.get("conversionTimestamp", ""))
        if not DIGITS.fullmatch(timestamp):
            raise invalid("conversionTimestamp must be epoch milliseconds.")
        if row.get("segmentationType") != "FLOODLIGHT":
            raise invalid("segmentationType must be FLOODLIGHT.")
        name, segment_id = row.get("segmentationName"), row.get("segmentationId")
        if (
            (name and name not in self.activities)
            or (segment_id and str(segment_id) not in self.activities.values())
            or not (name or segment_id)
        ):
            raise invalid(f"unknown Floodlight activity {name or segment_id!r}.")
        if str(row.get("clickId", "")) not in self.clicks:
            raise invalid(f"{UNKNOWN_CONTACT} {row.get('clickId')!r}.")
        for field in ("revenueMicros", "quantityMillis"):
            if field in row and not DIGITS.fullmatch(str(row[field])):
                raise invalid(f"{field} must be an integer.")
        return str(row["conversionId"]), timestamp

    def state(self) -> dict[str, Any]:
        return {"conversions": len(self.conversions), "pii_refusals": self.pii_refusals, **self.oauth.state()}

    # -- conformance hooks ---------------------------------------------------------------------

    def contact_identifier(self, number: int) -> str:
        return f"EAIaIQobChMI{number:06d}sa360"

    def invalid_identifier(self) -> str:
        return "not a click id!"

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.clicks.update(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            **self.oauth_config(base_url, valid=valid),
            "agency_id": self.agency_id,
            "advertiser_id": self.advertiser_id,
            "base_url": f"{base_url.rstrip('/')}{PREFIX}",
        }

    def target_spec(self) -> TargetSpec:
        return self.event_specs[0]

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.add_activity(name)

    def members(self, target: Target) -> set[str]:
        raise NotImplementedError("conversions are events, not members")

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        raise NotImplementedError("conversions are events, not members")

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        return {"conversion_time": occurred_at, "value": 10 + number, "currency": "USD"}

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        activity_id = self.activities.get(target.id, target.id)
        return [
            ReceivedEvent(
                str(row["clickId"]),
                datetime.fromtimestamp(int(row["conversionTimestamp"]) / 1000, UTC),
                str(row["conversionId"]),
            )
            for row in self.conversions.values()
            if row.get("segmentationName") == target.id or str(row.get("segmentationId")) == activity_id
        ]
