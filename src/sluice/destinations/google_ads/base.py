"""The Google Ads API connection both Google Ads destinations share (Customer Match, conversions).

REST under ``https://googleads.googleapis.com/{version}/customers/{customer_id}/…``; every call
carries ``Authorization: Bearer`` (OAuth, :mod:`sluice.destinations.oauth`), ``developer-token``
and, when the account is reached through a manager, ``login-customer-id``. Reads go through
``googleAds:search`` (GAQL, pages of 10,000 rows with ``nextPageToken``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx

from sluice.destinations.errors import ConfigError
from sluice.destinations.google_ads.api import google_oauth_app, raise_for_error, rate_headers
from sluice.destinations.google_ads.config import GoogleAdsConfig
from sluice.destinations.http import RateHeaders
from sluice.destinations.oauth import OAuthApp
from sluice.destinations.sdk import Connector

ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"


def gaql_string(value: str) -> str:
    """A GAQL string literal (single quotes, backslash escapes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class GoogleAdsBase(Connector):
    """Headers, error mapping, search and the connection check of the Google Ads API."""

    vendor: ClassVar[str] = "Google Ads"
    oauth_app: ClassVar[OAuthApp | None] = google_oauth_app(ADWORDS_SCOPE)
    config: GoogleAdsConfig

    @classmethod
    def base_url(cls, config: GoogleAdsConfig) -> str:
        return f"{(config.base_url or 'https://googleads.googleapis.com').rstrip('/')}/{config.api_version}"

    @classmethod
    def auth_headers(cls, config: GoogleAdsConfig) -> dict[str, str]:
        headers = {"developer-token": config.developer_token.get_secret_value()}
        if config.login_customer_id:
            headers["login-customer-id"] = config.login_customer_id
        return headers

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        return rate_headers(response, now)

    @property
    def customer(self) -> str:
        """``customers/{id}``: the prefix of every resource name and path of this account."""
        return f"customers/{self.config.customer_id}"

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call; errors that concern the whole request raise the SDK's groups."""
        response = await self.http.request(method, path, **kwargs)
        raise_for_error(response, self.vendor)
        return response

    async def search(self, query: str) -> AsyncIterator[dict[str, Any]]:
        """Every row of a GAQL query, across pages."""
        token: str | None = None
        while True:
            body: dict[str, Any] = {"query": query}
            if token:
                body["pageToken"] = token
            page = (await self.call("POST", f"/{self.customer}/googleAds:search", json=body)).json()
            for row in page.get("results") or []:
                yield row
            token = page.get("nextPageToken")
            if not token:
                return

    async def search_page(self, query: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a GAQL query and the token of the next one."""
        body: dict[str, Any] = {"query": query, **({"pageToken": token} if token else {})}
        page = (await self.call("POST", f"/{self.customer}/googleAds:search", json=body)).json()
        return list(page.get("results") or []), page.get("nextPageToken") or None

    async def check(self) -> str:
        rows = [
            row
            async for row in self.search(
                "SELECT customer.id, customer.descriptive_name FROM customer LIMIT 1"
            )
        ]
        if not rows:
            raise ConfigError(f"{self.vendor}: customer {self.config.customer_id} is not readable")
        name = (rows[0].get("customer") or {}).get("descriptiveName") or self.config.customer_id
        return f"connected to Google Ads customer {name!r}"
