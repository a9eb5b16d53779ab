"""Search Ads 360: offline conversions uploaded to a Floodlight activity.

The new Search Ads 360 API (``searchads360.googleapis.com/v0``) is read-only reporting, and SA360
has no Customer Match upload of its own: its audiences come from the engine accounts (Google Ads
Customer Match lists are built with the ``google_ads`` destination). What SA360 offers publicly
for writing is the conversion upload of the Search Ads 360 API v2 ("DoubleClick Search"), which
Google still points to for offline conversions: ``POST /doubleclicksearch/v2/conversion`` with a
``doubleclicksearch#conversionList``. Each row becomes one conversion: ``clickId`` (the identifier,
kind ``platform_id``), ``conversionId`` (the row's key unless an ``order_id`` field is mapped),
``conversionTimestamp`` (epoch milliseconds, from ``conversion_time``), ``segmentationType
FLOODLIGHT`` with the activity's ``segmentationName`` (or ``segmentationId``), ``type``
``TRANSACTION`` with ``revenueMicros`` and ``currencyCode`` when a ``value`` is mapped, else
``ACTION``, and ``quantityMillis`` from ``quantity``. SA360 forbids personal data in this API, so
only click ids are accepted.

A request is all-or-nothing (stated assumption, see README.md): a refused batch raises
:class:`RowRejected` and delivery splits it until the refused rows are found; a single conversion
SA360 already holds ("already exists") counts as delivered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.events import event_time
from sluice.destinations.google_ads.api import error_of, google_oauth_app, raise_for_error, rate_headers
from sluice.destinations.google_ads.values import amount_reason, time_reason
from sluice.destinations.http import RateHeaders
from sluice.destinations.sa360.config import Sa360ActivationDefaults, Sa360Config
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

FLOODLIGHT_ACTIVITY = "floodlight_activity"
BATCH_LIMIT = 200  # conversions per request Sluice sends (a refused request is split, so keep it small)
SCOPE = "https://www.googleapis.com/auth/doubleclicksearch"
CLICK_ID = re.compile(r"[A-Za-z0-9_-]{8,}")
ALREADY_THERE = "already exists"


class Sa360Connector(Connector):
    """Offline conversions of one Search Ads 360 advertiser, matched on click ids."""

    type_name = "sa360"
    title = "Search Ads 360"
    description = "Send offline conversions (matched on click ids) to Search Ads 360 Floodlight activities."
    docs_url = "https://developers.google.com/search-ads/v2/how-tos/conversions"
    config_model = Sa360Config
    activation_defaults = Sa360ActivationDefaults
    oauth_app = google_oauth_app(SCOPE)
    capabilities = Capabilities(
        services=frozenset({Service.EVENTS}),
        target_kinds=frozenset({FLOODLIGHT_ACTIVITY}),
        identifiers=frozenset({IdentifierKind.PLATFORM_ID}),
        batch_size=BATCH_LIMIT,
        concurrency=2,
        rate_limit=None,
        can_create_targets=False,
        can_read_members=False,
        read_members_note="Search Ads 360 conversions are events; SA360 audiences come from its engine "
        "accounts (use the Google Ads Customer Match destination).",
        deduplicates_events=True,
        event_dedupe_note="SA360 keys a conversion on conversionId + conversionTimestamp; the id is the "
        "row's key, so a resend is recognised",
    )
    config: Sa360Config

    @classmethod
    def base_url(cls, config: Sa360Config) -> str:
        return config.base_url or "https://www.googleapis.com/doubleclicksearch/v2"

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        return rate_headers(response, now)

    @property
    def _advertiser(self) -> str:
        return f"/agency/{self.config.agency_id}/advertiser/{self.config.advertiser_id}"

    async def check(self) -> str:
        response = await self.http.request("GET", f"{self._advertiser}/savedcolumns")
        raise_for_error(response, self.title)
        return f"connected to Search Ads 360 advertiser {self.config.advertiser_id}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        """The API lists no Floodlight activities: a target is named by the activity name or id."""
        return TargetPage([])

    async def ensure_target(self, spec: TargetSpec) -> Target:
        """The activity named by ``spec`` (name, or numeric id → ``segmentationId``), after checking
        the advertiser is reachable; an unknown activity is refused by the first upload."""
        name = (spec.id or spec.name or "").strip()
        if spec.kind != FLOODLIGHT_ACTIVITY or not name:
            raise ConfigError("name the Search Ads 360 Floodlight activity (its name or numeric id)")
        await self.check()  # no API lists Floodlight activities: at least the advertiser must answer
        return Target(FLOODLIGHT_ACTIVITY, name, spec.name or name, parent_id=self.config.advertiser_id)

    # -- validation --------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """A click id, a conversion time, and numbers where numbers are expected."""
        reason = super().invalid_reason(op, kind)
        if reason:
            return reason
        if not CLICK_ID.fullmatch(op.identifier):
            return "not a click id (gclid or SA360 click id: URL-safe base64 text)"
        return time_reason(op.fields, "conversion_time", now=self.http.clock()) or amount_reason(
            op.fields, "value", "quantity"
        )

    # -- delivery ----------------------------------------------------------------------------

    def _conversion(self, target: Target, op: Op) -> dict[str, Any]:
        moment = event_time(op.fields["conversion_time"])
        conversion: dict[str, Any] = {
            "agencyId": self.config.agency_id,
            "advertiserId": self.config.advertiser_id,
            "clickId": op.identifier,
            "conversionId": str(op.fields.get("order_id") or op.key),
            "conversionTimestamp": str(int(moment.timestamp() * 1000)),
            "segmentationType": "FLOODLIGHT",
        }
        if target.id.isdigit():
            conversion["segmentationId"] = target.id
        else:
            conversion["segmentationName"] = target.id
        value = op.fields.get("value")
        if value not in (None, ""):
            conversion["type"] = "TRANSACTION"
            conversion["revenueMicros"] = str(round(float(value) * 1_000_000))
            if op.fields.get("currency"):
                conversion["currencyCode"] = str(op.fields["currency"]).upper()
        else:
            conversion["type"] = "ACTION"
        if op.fields.get("quantity") not in (None, ""):
            conversion["quantityMillis"] = str(round(float(op.fields["quantity"]) * 1000))
        return conversion

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind is not OpKind.EVENT:
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Search Ads 360 takes conversions, not {op.kind}")
                for op in ops
            ]
        body = {
            "kind": "doubleclicksearch#conversionList",
            "conversion": [self._conversion(target, op) for op in ops],
        }
        response = await self.http.request("POST", "/conversion", json=body)
        if response.status_code == 400:
            message = str(error_of(response).get("message") or "the request was not valid")
            if len(ops) == 1 and ALREADY_THERE in message:
                return [Outcome.of(ops[0], OutcomeStatus.DELIVERED, f"already in Search Ads 360: {message}")]
            raise RowRejected(f"Search Ads 360: {message}")
        raise_for_error(response, self.title)
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]
