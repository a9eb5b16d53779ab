"""What every Meta Graph API connector shares (custom audiences, Conversions API): the error object
``{"error": {message, type, code, error_subcode, error_user_msg, fbtrace_id}}`` read in the vendor's
words, throttling read from codes and ``X-Business-Use-Case-Usage``, and one call wrapper that turns
Graph errors into the SDK's error groups. See ``meta/README.md`` for the sources."""

from __future__ import annotations

import json
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RateLimited, Transient
from sluice.destinations.http import RateHeaders, VendorHttp

#: Graph API throttling codes (app, user, page, custom-audience and ad-account limits)
THROTTLING_CODES = frozenset({4, 17, 32, 613, 80003, 80004})
#: codes that need the user: invalid token, permissions
CONFIG_CODES = frozenset({102, 190, 200, 10, 294, 2635})


def graph_error(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph API answer (empty when the body has none)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def describe(error: dict[str, Any], status: int) -> str:
    """The vendor's words: user message when given, else message, with code/subcode."""
    text = error.get("error_user_msg") or error.get("message") or f"HTTP {status}"
    code = error.get("code")
    sub = error.get("error_subcode")
    suffix = f" (code {code}{f', subcode {sub}' if sub else ''})" if code is not None else ""
    return f"{text}{suffix}"


def usage_wait(response: httpx.Response) -> float | None:
    """Seconds to wait from ``X-Business-Use-Case-Usage`` (``estimated_time_to_regain_access``,
    minutes), when Meta says the account is throttled."""
    raw = response.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entries in (usage.values() if isinstance(usage, dict) else [])
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    ]
    longest = max(minutes, default=0.0)
    return longest * 60 if longest > 0 else None


def graph_rate_headers(response: httpx.Response, now: float) -> RateHeaders:
    """``Retry-After`` if any, else Meta's business-use-case usage header."""
    retry_after = RateHeaders.from_retry_after(response, now).retry_after
    return RateHeaders(retry_after=retry_after if retry_after is not None else usage_wait(response))


def graph_auth_headers(token: str) -> dict[str, str]:
    """The access token as a bearer header (never in URLs, where logs would keep it)."""
    return {"Authorization": f"Bearer {token}"}


async def graph_call(http: VendorHttp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One Graph API call; throttling and credential errors become the SDK's error groups, other
    errors are returned for the caller to read."""
    response = await http.request(method, path, **kwargs)
    if response.is_success:
        return response
    error = graph_error(response)
    code = error.get("code")
    message = describe(error, response.status_code)
    if code in THROTTLING_CODES:
        raise RateLimited(f"Meta throttled the request: {message}", usage_wait(response))
    if code in (1, 2) or error.get("is_transient"):
        raise Transient(f"Meta: {message}")
    if response.status_code in (401, 403) or code in CONFIG_CODES:
        raise ConfigError(f"Meta refused the access token or its permissions: {message}")
    return response
