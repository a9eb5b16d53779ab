"""Google Ads conversions: offline click conversions, enhanced conversions, adjustments.

Two kinds of target, both a conversion action of the customer (type ``UPLOAD_CLICKS``, created in
Google Ads; Sluice picks it by id or name):

- ``conversion_action`` — ``POST customers/{id}:uploadClickConversions`` with ``partialFailure``
  (at most 2,000 conversions per request). A row is matched on its click id (identifier kind
  ``platform_id``: a gclid, or a gbraid/wbraid when the ``click_id_type`` field says so) or, for
  enhanced conversions for leads, on the person's SHA-256 hashed email or phone
  (``userIdentifiers``, hashed here by Google's rules) — a ``gclid``/``gbraid``/``wbraid`` field
  is added when mapped. Fields: ``conversion_time`` (required; sent as ``yyyy-mm-dd hh:mm:ss+00:00``),
  ``value``, ``currency``, ``order_id`` (default: the row's key, so a resent conversion is
  recognised by Google as ``ORDER_ID_ALREADY_IN_USE`` and counted once), ``ad_user_data`` /
  ``ad_personalization`` (consent; default from the destination config). Conversions whose time is
  more than 90 days ago are refused before sending: their click is older than the longest
  click-through window Google accepts.
- ``conversion_adjustment`` — ``POST customers/{id}:uploadConversionAdjustments``: ``adjustment_type``
  ``RETRACTION``, ``RESTATEMENT`` (``restated_value``, ``currency``) or ``ENHANCEMENT`` (enhanced
  conversions for web: hashed ``email``/``phone`` fields), the conversion named by its order id
  (identifier kind ``external_id``) or by gclid + ``conversion_time`` (``platform_id``).

Per-row errors come back in ``partialFailureError`` (``GoogleAdsFailure``, ``operations``-style
index into the request's list): those rows are *rejected* with Google's words, except the
"already there" codes, which mean an earlier attempt was counted (*delivered*).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sluice.destinations.errors import ConfigError
from sluice.destinations.events import event_time
from sluice.destinations.google_ads.api import error_code, row_errors, row_message
from sluice.destinations.google_ads.base import GoogleAdsBase, gaql_string
from sluice.destinations.google_ads.identifiers import contact_of, unhashable_reason, user_identifiers
from sluice.destinations.google_ads.values import amount_reason, time_reason
from sluice.destinations.google_ads_conversions.config import (
    GoogleAdsConversionsActivationDefaults,
    GoogleAdsConversionsConfig,
)
from sluice.destinations.sdk import (
    Capabilities,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

CONVERSION_ACTION = "conversion_action"
CONVERSION_ADJUSTMENT = "conversion_adjustment"
BATCH_LIMIT = 2_000  # conversions or adjustments per request ("fewer than 2001")
CLICK_WINDOW = 90 * 86_400.0  # the longest click-through window of a conversion action
# field names of a mapped row
CONVERSION_TIME = "conversion_time"
ADJUSTMENT_TYPE = "adjustment_type"
ADJUSTMENT_TIME = "adjustment_time"
CLICK_ID_TYPE = "click_id_type"
CLICK_IDS = ("gclid", "gbraid", "wbraid")
ADJUSTMENT_TYPES = frozenset({"RETRACTION", "RESTATEMENT", "ENHANCEMENT"})
#: per-row codes meaning Google already holds this conversion or adjustment (a resend): delivered
ALREADY_THERE = frozenset(
    {
        "conversionUploadError.ORDER_ID_ALREADY_IN_USE",
        "conversionUploadError.CLICK_CONVERSION_ALREADY_EXISTS",
        "conversionAdjustmentUploadError.CONVERSION_ALREADY_RETRACTED",
        "conversionAdjustmentUploadError.RESTATEMENT_ALREADY_EXISTS",
        "conversionAdjustmentUploadError.CONVERSION_ALREADY_ENHANCED",
    }
)
CLICK_ID = re.compile(r"[A-Za-z0-9_-]{8,}")


def google_time(moment: datetime) -> str:
    """Google Ads' date-time: ``yyyy-mm-dd hh:mm:ss+|-hh:mm`` (sent in UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def consent_value(value: Any) -> str | None:
    """``GRANTED`` / ``DENIED`` from a mapped value (booleans, any case), None when not given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "GRANTED" if value else "DENIED"
    text = str(value).strip().upper()
    if text in ("GRANTED", "TRUE", "YES", "1"):
        return "GRANTED"
    if text in ("DENIED", "FALSE", "NO", "0"):
        return "DENIED"
    return None


class GoogleAdsConversionsConnector(GoogleAdsBase):
    """Conversions of one Google Ads customer, uploaded to its conversion actions."""

    type_name = "google_ads_conversions"
    title = "Google Ads Conversions"
    description = (
        "Send offline click conversions, enhanced conversions (hashed) and conversion "
        "adjustments (retractions, restatements) to Google Ads conversion actions."
    )
    docs_url = "https://developers.google.com/google-ads/api/docs/conversions/upload-clicks"
    config_model = GoogleAdsConversionsConfig
    activation_defaults = GoogleAdsConversionsActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.EVENTS}),
        target_kinds=frozenset({CONVERSION_ACTION, CONVERSION_ADJUSTMENT}),
        identifiers=frozenset(
            {
                IdentifierKind.PLATFORM_ID,
                IdentifierKind.EMAIL,
                IdentifierKind.PHONE,
                IdentifierKind.HASHED,
                IdentifierKind.EXTERNAL_ID,
            }
        ),
        batch_size=BATCH_LIMIT,
        concurrency=4,
        rate_limit=None,
        can_create_targets=False,
        can_read_members=False,
        read_members_note="Google Ads conversions are events, not members of a list.",
        deduplicates_events=True,
        event_dedupe_note="the order id (the row's key unless mapped) makes Google refuse a resent "
        "conversion with ORDER_ID_ALREADY_IN_USE, which Sluice counts as delivered",
        event_max_age=CLICK_WINDOW,
    )
    standard_fields = (
        StandardField("email", "email", "Hashed and sent as a user identifier (enhanced conversions)."),
        StandardField("phone", "phone", "Hashed and sent as a user identifier (enhanced conversions)."),
    )
    config: GoogleAdsConversionsConfig

    # -- targets -----------------------------------------------------------------------------

    @staticmethod
    def _target(kind: str, row: dict[str, Any]) -> Target:
        action = row.get("conversionAction") or {}
        return Target(kind, str(action.get("id", "")), str(action.get("name", "")))

    @staticmethod
    def _query(condition: str = "") -> str:
        where = "conversion_action.type = 'UPLOAD_CLICKS' AND conversion_action.status = 'ENABLED'"
        return (
            "SELECT conversion_action.id, conversion_action.name FROM conversion_action "
            f"WHERE {where}{f' AND {condition}' if condition else ''}"
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        rows, next_token = await self.search_page(self._query(), cursor)
        return TargetPage([self._target(kind or CONVERSION_ACTION, row) for row in rows], next_token)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind not in self.capabilities.target_kinds:
            raise ConfigError(f"Google Ads conversions have no target kind {spec.kind!r}")
        if spec.id and not spec.id.isdigit():
            raise ConfigError(f"Google Ads conversion action id must be numeric, got {spec.id!r}")
        condition = (
            f"conversion_action.id = {spec.id}"
            if spec.id
            else f"conversion_action.name = {gaql_string(spec.name)}"
        )
        async for row in self.search(self._query(condition)):
            return self._target(spec.kind, row)
        raise ConfigError(
            f"Google Ads has no enabled conversion action {spec.id or repr(spec.name)} of type "
            "'Import from clicks' (UPLOAD_CLICKS); create it in Google Ads first"
        )

    # -- validation --------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse before sending what Google would refuse for certain: a missing or stale time, a
        malformed click id, an identifier that cannot be normalised, a bad value or adjustment."""
        if kind not in self.capabilities.identifiers or kind is IdentifierKind.HASHED:
            reason = super().invalid_reason(op, kind)
            if reason:
                return reason
        if not op.identifier or not op.identifier.strip():
            return "identifier is empty"
        if kind is IdentifierKind.PLATFORM_ID and not CLICK_ID.fullmatch(op.identifier):
            return "not a Google click id (gclid, gbraid or wbraid are URL-safe base64 text)"
        reason = unhashable_reason(op.identifier, kind, self.config.default_country)
        if reason:
            return reason
        if op.fields.get(ADJUSTMENT_TYPE) not in (None, ""):
            return self._adjustment_reason(op, kind)
        if kind is IdentifierKind.EXTERNAL_ID:
            return (
                "an order id names a conversion to adjust: set adjustment_type "
                "(click conversions are matched on a click id or a hashed email/phone)"
            )
        return self._conversion_reason(op)

    def _conversion_reason(self, op: Op) -> str | None:
        reason = time_reason(
            op.fields, CONVERSION_TIME, now=self.http.clock(), max_age=CLICK_WINDOW, vendor="Google Ads"
        )
        if reason:
            return reason
        click_type = str(op.fields.get(CLICK_ID_TYPE) or "gclid").lower()
        if click_type not in CLICK_IDS:
            return f"{CLICK_ID_TYPE} must be one of {', '.join(CLICK_IDS)}"
        return amount_reason(op.fields, "value")

    def _adjustment_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        adjustment = str(op.fields[ADJUSTMENT_TYPE]).upper()
        if adjustment not in ADJUSTMENT_TYPES:
            return f"{ADJUSTMENT_TYPE} must be one of {', '.join(sorted(ADJUSTMENT_TYPES))}"
        if kind is IdentifierKind.PLATFORM_ID:
            reason = time_reason(
                op.fields, CONVERSION_TIME, now=self.http.clock(), max_age=CLICK_WINDOW, vendor="Google Ads"
            )
            if reason:
                return reason
        elif kind is not IdentifierKind.EXTERNAL_ID and not op.fields.get("order_id"):
            return "an adjustment names its conversion by order id (identifier or order_id field) or gclid"
        if adjustment == "RESTATEMENT":
            if op.fields.get("restated_value") in (None, ""):
                return "a RESTATEMENT needs restated_value"
            return amount_reason(op.fields, "restated_value")
        return None

    # -- payloads ----------------------------------------------------------------------------

    def _identifiers(self, op: Op, kind: IdentifierKind) -> list[dict[str, Any]]:
        """Hashed user identifiers of a row: its identifier (email/phone/hash) and mapped contact fields."""
        contact = contact_of(op.identifier, kind, op.fields, self.config.default_country)
        return [
            {**identifier, "userIdentifierSource": "FIRST_PARTY"} for identifier in user_identifiers(contact)
        ]

    def _consent(self, op: Op) -> dict[str, str]:
        defaults = {
            "adUserData": self.config.ad_user_data_consent,
            "adPersonalization": self.config.ad_personalization_consent,
        }
        consent = {}
        for key, field in (("adUserData", "ad_user_data"), ("adPersonalization", "ad_personalization")):
            value = consent_value(op.fields.get(field)) or defaults[key]
            if value != "UNSPECIFIED":
                consent[key] = value
        return consent

    def _conversion(self, target: Target, op: Op) -> dict[str, Any]:
        kind = target.identifier_kind
        conversion: dict[str, Any] = {
            "conversionAction": f"{self.customer}/conversionActions/{target.id}",
            "conversionDateTime": google_time(event_time(op.fields[CONVERSION_TIME])),
            "orderId": str(op.fields.get("order_id") or op.key),
        }
        if kind is IdentifierKind.PLATFORM_ID:
            conversion[str(op.fields.get(CLICK_ID_TYPE) or "gclid").lower()] = op.identifier
        else:
            for name in CLICK_IDS:
                if op.fields.get(name):
                    conversion[name] = str(op.fields[name])
                    break
        identifiers = self._identifiers(op, kind)
        if identifiers:
            conversion["userIdentifiers"] = identifiers
        if op.fields.get("value") not in (None, ""):
            conversion["conversionValue"] = float(op.fields["value"])
        if op.fields.get("currency"):
            conversion["currencyCode"] = str(op.fields["currency"]).upper()
        consent = self._consent(op)
        if consent:
            conversion["consent"] = consent
        return conversion

    def _adjustment(self, target: Target, op: Op) -> dict[str, Any]:
        kind = target.identifier_kind
        adjustment_type = str(op.fields[ADJUSTMENT_TYPE]).upper()
        when = op.fields.get(ADJUSTMENT_TIME)
        moment = (
            event_time(when) if when not in (None, "") else datetime.fromtimestamp(self.http.clock(), UTC)
        )
        adjustment: dict[str, Any] = {
            "conversionAction": f"{self.customer}/conversionActions/{target.id}",
            "adjustmentType": adjustment_type,
            "adjustmentDateTime": google_time(moment),
        }
        if kind is IdentifierKind.PLATFORM_ID:
            adjustment["gclidDateTimePair"] = {
                "gclid": op.identifier,
                "conversionDateTime": google_time(event_time(op.fields[CONVERSION_TIME])),
            }
        else:
            adjustment["orderId"] = (
                op.identifier if kind is IdentifierKind.EXTERNAL_ID else str(op.fields["order_id"])
            )
        if adjustment_type == "RESTATEMENT":
            restated: dict[str, Any] = {"adjustedValue": float(op.fields["restated_value"])}
            if op.fields.get("currency"):
                restated["currencyCode"] = str(op.fields["currency"]).upper()
            adjustment["restatementValue"] = restated
        if adjustment_type == "ENHANCEMENT":
            adjustment["userIdentifiers"] = self._identifiers(op, kind)
        return adjustment

    # -- delivery ----------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind is not OpKind.EVENT:
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Google Ads conversions take events, not {op.kind}")
                for op in ops
            ]
        adjusting = target.kind == CONVERSION_ADJUSTMENT
        refused = [
            Outcome.of(op, OutcomeStatus.REJECTED, f"not sent: an adjustment needs {ADJUSTMENT_TYPE}")
            for op in ops
            if adjusting and op.fields.get(ADJUSTMENT_TYPE) in (None, "")
        ]
        sendable = [op for op in ops if not adjusting or op.fields.get(ADJUSTMENT_TYPE) not in (None, "")]
        if not sendable:
            return refused
        if adjusting:
            body: dict[str, Any] = {
                "conversionAdjustments": [self._adjustment(target, op) for op in sendable],
                "partialFailure": True,
            }
            path = f"/{self.customer}:uploadConversionAdjustments"
        else:
            body = {"conversions": [self._conversion(target, op) for op in sendable], "partialFailure": True}
            path = f"/{self.customer}:uploadClickConversions"
        answer = (await self.call("POST", path, json=body)).json()
        failed = row_errors(answer.get("partialFailureError") or {})
        outcomes = list(refused)
        for index, op in enumerate(sendable):
            errors = failed.get(index)
            if not errors:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif all(error_code(e) in ALREADY_THERE for e in errors):
                message = f"already counted by Google: {row_message(errors)}"
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, message))
            else:
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, row_message(errors)))
        return outcomes
