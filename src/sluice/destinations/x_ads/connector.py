"""X (Twitter) Ads API: export segments as custom audiences (formerly tailored audiences).

A segment becomes a custom audience of one ads account, created by name on first run
(``POST /accounts/{id}/custom_audiences?name=…``). Members are changed with
``POST /accounts/{id}/custom_audiences/{audience_id}/users``, a JSON array of at most 2,500
operations ``{"operation_type": "Update"|"Delete", "params": {"users": [{"email": [<sha256>]}]}}``
— one per person here, so the cap is 2,500 people per call. A batch succeeds or fails as a whole
(``success_count`` must equal ``total_count``); a refused batch is split by delivery to find the
row at fault. Requests are signed with OAuth 1.0a (:mod:`sluice.destinations.x_ads.oauth1`).
Identifiers are normalised and hashed here (:mod:`sluice.destinations.hashing`, X rules).
See README.md for the facts and their sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.audiences import find_target, normalisation_problem, refuse_non_membership
from sluice.destinations.errors import ConfigError, RowRejected, Transient
from sluice.destinations.hashing import X_ADS, InvalidIdentifier, PiiField, hash_value
from sluice.destinations.http import RateHeaders, parse_retry_after
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
    Target,
    TargetPage,
    TargetSpec,
)
from sluice.destinations.x_ads.config import XAdsActivationDefaults, XAdsConfig
from sluice.destinations.x_ads.oauth1 import OAuth1

CUSTOM_AUDIENCE = "custom_audience"
BATCH_LIMIT = 2_500  # operations per users call (one operation per person)
PAGE = 200
USERNAME = re.compile(r"@?([A-Za-z0-9_]{1,15})")
USER_ID = re.compile(r"[0-9]{1,20}")
DEVICE_ID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def x_error(response: httpx.Response) -> str:
    """The vendor's words: ``errors[].message`` (with ``code``), else the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return f"HTTP {response.status_code}"
    return "; ".join(
        f"{e.get('message', '')} ({e.get('code', '')})".strip() for e in errors if isinstance(e, dict)
    )


def user_key(identifier: str, kind: IdentifierKind) -> tuple[str, str]:
    """The users-object key and its hashed value for one identifier (X normalisation rules)."""
    if kind in (IdentifierKind.EMAIL, IdentifierKind.HASHED):
        return "email", hash_value(PiiField.EMAIL, identifier, X_ADS)
    text = identifier.strip()
    if USER_ID.fullmatch(text):
        return "twitter_id", hash_value(PiiField.EXTERNAL_ID, text, X_ADS)
    if DEVICE_ID.fullmatch(text):  # IDFA / AdID: "lower-cased with dashes"
        return "device_id", hash_value(PiiField.MOBILE_AD_ID, text, X_ADS)
    match = USERNAME.fullmatch(text)
    if match is None:
        raise InvalidIdentifier("not an X username (up to 15 letters, digits or _), user id or device id")
    return "twandle", hash_value(PiiField.EXTERNAL_ID, match.group(1).lower(), X_ADS)


class XAdsConnector(Connector):
    """Custom audiences of one X ads account, members addressed by hashed email, username or user id."""

    type_name = "x_ads"
    title = "X Ads Custom Audiences"
    description = "Export segments as X (Twitter) Ads custom audiences (SHA-256 hashed emails or usernames)."
    docs_url = "https://developer.x.com/en/docs/x-ads-api/audiences/api-reference/custom-audience-user"
    config_model = XAdsConfig
    activation_defaults = XAdsActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({CUSTOM_AUDIENCE}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.HASHED, IdentifierKind.PLATFORM_ID}),
        batch_size=BATCH_LIMIT,
        concurrency=2,
        rate_limit=RateLimit(25, 1.0),  # /users allows 1,500 requests per minute
        can_create_targets=True,
        can_read_members=False,
        read_members_note="X never returns the people in a custom audience (only its size).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="X accepts every hashed identifier and matches it later (4 to 6 hours); it "
        "never reports who was not found. An audience needs 100 matched users to be targetable.",
    )
    config: XAdsConfig

    @classmethod
    def base_url(cls, config: XAdsConfig) -> str:
        return config.base_url or f"https://ads-api.x.com/{config.api_version}"

    @classmethod
    def auth(cls, config: XAdsConfig) -> httpx.Auth:
        return OAuth1(
            config.consumer_key,
            config.consumer_secret.get_secret_value(),
            config.access_token.get_secret_value(),
            config.access_token_secret.get_secret_value(),
        )

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        """``x-rate-limit-remaining`` and ``x-rate-limit-reset`` (Unix time) of the X API."""
        try:
            remaining: int | None = int(response.headers["x-rate-limit-remaining"])
        except (KeyError, ValueError):
            remaining = None
        try:
            reset_in: float | None = max(float(response.headers["x-rate-limit-reset"]) - now, 0.0) + 0.1
        except (KeyError, ValueError):
            reset_in = None
        return RateHeaders(
            retry_after=parse_retry_after(response.headers.get("Retry-After"), now),
            remaining=remaining,
            reset_in=reset_in,
        )

    @property
    def _account(self) -> str:
        return f"/accounts/{self.config.ad_account_id}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One Ads API call; credential and permission refusals become :class:`ConfigError`."""
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"X refused the credentials or their access: {x_error(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", self._account)
        if not response.is_success:
            raise ConfigError(f"X ads account {self.config.ad_account_id}: {x_error(response)}")
        data = response.json().get("data") or {}
        return f"connected to ads account {data.get('name', self.config.ad_account_id)!r}"

    def _target(self, audience: dict[str, Any]) -> Target:
        size = audience.get("audience_size")
        return Target(
            CUSTOM_AUDIENCE,
            str(audience["id"]),
            str(audience.get("name", "")),
            parent_id=self.config.ad_account_id,
            size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        params: dict[str, Any] = {"count": PAGE}
        if cursor:
            params["cursor"] = cursor
        response = await self._call("GET", f"{self._account}/custom_audiences", params=params)
        if not response.is_success:
            raise ConfigError(f"X could not list custom audiences: {x_error(response)}")
        body = response.json()
        items = [self._target(a) for a in body.get("data") or [] if not a.get("deleted")]
        next_cursor = body.get("next_cursor")
        return TargetPage(items, str(next_cursor) if next_cursor else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            response = await self._call("GET", f"{self._account}/custom_audiences/{spec.id}")
            if not response.is_success:
                raise ConfigError(f"X custom audience {spec.id} is not available: {x_error(response)}")
            return self._target(response.json()["data"])
        found = await find_target(self, CUSTOM_AUDIENCE, spec.name)
        if found is not None:
            return found
        if not spec.create_if_missing:
            raise ConfigError(f"X has no custom audience named {spec.name!r}")
        response = await self._call("POST", f"{self._account}/custom_audiences", params={"name": spec.name})
        if not response.is_success:
            raise ConfigError(f"X could not create custom audience {spec.name!r}: {x_error(response)}")
        return self._target(response.json()["data"])

    # -- members -----------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised by X's rules (checked before any request)."""
        if kind is IdentifierKind.HASHED or kind not in self.capabilities.identifiers:
            return super().invalid_reason(op, kind)
        if not op.identifier or not op.identifier.strip():
            return "identifier is empty"
        return normalisation_problem(lambda: user_key(op.identifier, kind))

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        refused = refuse_non_membership("X custom audiences", ops)
        if refused is not None:
            return refused
        operation = "Update" if ops[0].kind is OpKind.ADD else "Delete"
        body = []
        for op in ops:
            key, digest = user_key(op.identifier, target.identifier_kind)
            body.append({"operation_type": operation, "params": {"users": [{key: [digest]}]}})
        response = await self._call("POST", f"{self._account}/custom_audiences/{target.id}/users", json=body)
        if response.status_code == 404:
            raise ConfigError(f"X custom audience {target.id} no longer exists: {x_error(response)}")
        if not response.is_success:
            raise RowRejected(x_error(response))
        data = response.json().get("data") or {}
        if data.get("success_count") != data.get("total_count") or data.get("total_count") != len(body):
            raise Transient(
                f"X processed {data.get('success_count')} of {data.get('total_count')} operations "
                f"({len(body)} sent); the batch is retried"
            )
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]
