"""Reddit Ads API v3: export segments as customer-list custom audiences.

A segment becomes a ``CUSTOMER_LIST`` custom audience of one ad account, created by name on first run
(``POST /ad_accounts/{id}/custom_audiences``). Members are changed with
``PATCH /custom_audiences/{id}/users``
``{"data": {"action_type": "ADD"|"REMOVE", "column_order": ["EMAIL_SHA256"], "user_data": [[<sha256>], …]}}``,
at most 2,500 rows per call. Emails and mobile ad ids are normalised and hashed here
(:mod:`sluice.destinations.hashing`, Reddit rules). Requests carry an OAuth access token from a
refresh token (:mod:`sluice.destinations.oauth`) and the app's ``User-Agent``. Reddit's Ads API
reference is public only in parts: see README.md for what is documented and what is inferred.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sluice.destinations.audiences import find_target, normalisation_problem, refuse_non_membership
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.hashing import REDDIT, PiiField, hash_value
from sluice.destinations.oauth import ClientAuth, OAuthApp
from sluice.destinations.reddit.config import RedditActivationDefaults, RedditConfig
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

CUSTOMER_LIST = "customer_list"
BATCH_LIMIT = 2_500  # rows of user_data per call
PAGE = 100
#: identifier kind → Reddit column and the field normalised before hashing
COLUMNS = {
    IdentifierKind.EMAIL: ("EMAIL_SHA256", PiiField.EMAIL),
    IdentifierKind.HASHED: ("EMAIL_SHA256", PiiField.EMAIL),
    IdentifierKind.PLATFORM_ID: ("MAID_SHA256", PiiField.MOBILE_AD_ID),
}


def reddit_error(response: httpx.Response) -> str:
    """The vendor's words from an error body (``error.message`` / ``message`` / ``errors``)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('message', 'error')} ({error.get('code', response.status_code)})"
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return str(body.get("message") or f"HTTP {response.status_code}")


def hashed(identifier: str, kind: IdentifierKind) -> str:
    """The SHA-256 Reddit matches on (already-hashed values pass through)."""
    return hash_value(COLUMNS[kind][1], identifier, REDDIT)


class RedditConnector(Connector):
    """Customer-list custom audiences of one Reddit ad account."""

    type_name = "reddit"
    title = "Reddit Ads Custom Audiences"
    description = "Export segments as Reddit Ads customer lists (SHA-256 hashed emails or mobile ad ids)."
    docs_url = "https://ads-api.reddit.com/docs/v3/"
    config_model = RedditConfig
    activation_defaults = RedditActivationDefaults
    oauth_app = OAuthApp(
        vendor="Reddit",
        authorize_url="https://www.reddit.com/api/v1/authorize",
        token_url="https://www.reddit.com/api/v1/access_token",  # noqa: S106 - a URL
        scopes=("adsread", "adsedit"),
        scope_separator=",",
        authorize_params={"duration": "permanent"},
        client_auth=ClientAuth.BASIC,
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({CUSTOMER_LIST}),
        identifiers=frozenset(COLUMNS),
        batch_size=BATCH_LIMIT,
        concurrency=2,
        rate_limit=RateLimit(1, 1.0),
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Reddit never returns the people in a custom audience (only its size).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Reddit accepts every hashed identifier and matches it later; it never "
        "reports who was not found. Small audiences are not targetable until enough users match.",
    )
    config: RedditConfig

    @classmethod
    def base_url(cls, config: RedditConfig) -> str:
        return config.base_url or "https://ads-api.reddit.com/api/v3"

    @classmethod
    def auth_headers(cls, config: RedditConfig) -> dict[str, str]:
        return {"User-Agent": config.user_agent}

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One Ads API call; credential and permission refusals become :class:`ConfigError`."""
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Reddit refused the authorization or the ad account: {reddit_error(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", f"/ad_accounts/{self.config.ad_account_id}")
        if not response.is_success:
            raise ConfigError(f"Reddit ad account {self.config.ad_account_id}: {reddit_error(response)}")
        data = response.json().get("data") or {}
        return f"connected to ad account {data.get('name', self.config.ad_account_id)!r}"

    def _target(self, audience: dict[str, Any]) -> Target:
        size = audience.get("size_range_lower")
        return Target(
            CUSTOMER_LIST,
            str(audience["id"]),
            str(audience.get("name", "")),
            parent_id=self.config.ad_account_id,
            size=int(size) if isinstance(size, int) else None,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        params: dict[str, Any] = {"page.size": PAGE}
        if cursor:
            params["page.token"] = cursor
        response = await self._call(
            "GET", f"/ad_accounts/{self.config.ad_account_id}/custom_audiences", params=params
        )
        if not response.is_success:
            raise ConfigError(f"Reddit could not list custom audiences: {reddit_error(response)}")
        body = response.json()
        items = [
            self._target(a)
            for a in body.get("data") or []
            if isinstance(a, dict) and a.get("type") == "CUSTOMER_LIST"
        ]
        next_url = (body.get("pagination") or {}).get("next_url")
        token = parse_qs(urlsplit(next_url).query).get("page.token", [None])[0] if next_url else None
        return TargetPage(items, token)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            response = await self._call("GET", f"/custom_audiences/{spec.id}")
            if not response.is_success:
                raise ConfigError(
                    f"Reddit custom audience {spec.id} is not available: {reddit_error(response)}"
                )
            return self._target(response.json()["data"])
        found = await find_target(self, CUSTOMER_LIST, spec.name)
        if found is not None:
            return found
        if not spec.create_if_missing:
            raise ConfigError(f"Reddit has no customer list named {spec.name!r}")
        response = await self._call(
            "POST",
            f"/ad_accounts/{self.config.ad_account_id}/custom_audiences",
            json={"data": {"type": "CUSTOMER_LIST", "name": spec.name}},
        )
        if not response.is_success:
            raise ConfigError(
                f"Reddit could not create customer list {spec.name!r}: {reddit_error(response)}"
            )
        return self._target(response.json()["data"])

    # -- members -----------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised (checked before any request)."""
        if kind is IdentifierKind.HASHED or kind not in COLUMNS:
            return super().invalid_reason(op, kind)
        return normalisation_problem(lambda: hashed(op.identifier, kind))

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        refused = refuse_non_membership("Reddit custom audiences", ops)
        if refused is not None:
            return refused
        kind = target.identifier_kind
        rows = [[digest] for digest in dict.fromkeys(hashed(op.identifier, kind) for op in ops)]
        body = {
            "data": {
                "action_type": "ADD" if ops[0].kind is OpKind.ADD else "REMOVE",
                "column_order": [COLUMNS[kind][0]],
                "user_data": rows,
            }
        }
        response = await self._call("PATCH", f"/custom_audiences/{target.id}/users", json=body)
        if response.status_code == 404:
            raise ConfigError(
                f"Reddit custom audience {target.id} no longer exists: {reddit_error(response)}"
            )
        if not response.is_success:
            raise RowRejected(reddit_error(response))
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]
