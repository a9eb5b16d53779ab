"""What every Google API connector here shares: reading Google's error bodies, pacing from them,
and turning them into the SDK's error groups.

Two error shapes, both under ``{"error": {code, message, status, details}}``:

- the Google Ads API puts a ``GoogleAdsFailure`` in ``details`` (``errors[]`` of ``{errorCode:
  {<family>: <ENUM>}, message, trigger, location: {fieldPathElements: [{fieldName, index}]}}``);
  in partial-failure mode the same failure comes back in a 200 body as ``partialFailureError``,
  and ``location.fieldPathElements[0].index`` names the operation (row) at fault;
- other Google APIs (Display & Video 360, Search Ads 360) use plain ``google.rpc.Status``
  (``status`` such as ``INVALID_ARGUMENT``, ``PERMISSION_DENIED``, ``RESOURCE_EXHAUSTED``).

Quota errors carry ``details[].errors[].details.quotaErrorDetails.retryDelay`` (``"30s"``) or a
``google.rpc.RetryInfo`` detail with ``retryDelay``: :func:`rate_headers` turns either into the
wait before retrying a 429.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RateLimited, RowRejected
from sluice.destinations.http import RateHeaders
from sluice.destinations.oauth import OAuthApp


def google_oauth_app(*scopes: str) -> OAuthApp:
    """Google's OAuth 2.0 server (refresh-token grant, offline access so a refresh token is issued)."""
    return OAuthApp(
        vendor="Google",
        token_url="https://oauth2.googleapis.com/token",  # noqa: S106 - a public URL
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        scopes=scopes,
        authorize_params={"access_type": "offline", "prompt": "consent"},
    )


#: HTTP statuses and ``status`` names that need the user (credentials, permissions, disabled account)
CONFIG_STATUSES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})
#: Google Ads error families/codes that need the user even when sent with HTTP 400
CONFIG_CODES = frozenset(
    {
        "authenticationError",
        "authorizationError",
        "headerError",
        "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS",
        "CUSTOMER_NOT_FOUND",
        "RESOURCE_NOT_FOUND",
    }
)
#: the longest quota wait honoured inside a run, in seconds
MAX_RETRY_WAIT = 300.0
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)s\s*$")


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Google answer (empty when the body has none)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def ads_errors(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``GoogleAdsError`` objects inside a ``google.rpc.Status`` (an ``error`` object or a
    ``partialFailureError``)."""
    found: list[dict[str, Any]] = []
    for detail in status.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("GoogleAdsFailure"):
            found.extend(e for e in detail.get("errors") or [] if isinstance(e, dict))
    return found


def error_code(error: dict[str, Any]) -> str:
    """``family.ENUM`` of one Google Ads error (``userListError.NAME_ALREADY_USED``)."""
    code = error.get("errorCode") or {}
    return ".".join(f"{family}.{value}" for family, value in code.items()) if isinstance(code, dict) else ""


def operation_index(error: dict[str, Any]) -> int | None:
    """The index of the operation (row) a Google Ads error points at, from its field path."""
    elements = (error.get("location") or {}).get("fieldPathElements") or []
    for element in elements:
        if isinstance(element, dict) and "index" in element:
            try:
                return int(element["index"])
            except (TypeError, ValueError):
                return None
    return None


def describe(status: dict[str, Any], http_status: int = 0) -> str:
    """The vendor's words: each Google Ads error as ``message (family.ENUM)``, else the status message."""
    errors = ads_errors(status)
    if errors:
        return row_message(errors)
    message = status.get("message") or (f"HTTP {http_status}" if http_status else "error")
    name = status.get("status")
    return f"{message} ({name})" if name else str(message)


def row_errors(status: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Operation index → its Google Ads errors, for the errors of a partial failure."""
    found: dict[int, list[dict[str, Any]]] = {}
    for error in ads_errors(status):
        index = operation_index(error)
        if index is not None:
            found.setdefault(index, []).append(error)
    return found


def row_message(errors: list[dict[str, Any]]) -> str:
    """One row's errors in the vendor's words: ``message (family.ENUM)``, joined."""
    parts = []
    for error in errors:
        code = error_code(error)
        parts.append(f"{error.get('message') or 'rejected'}{f' ({code})' if code else ''}")
    return "; ".join(dict.fromkeys(parts))


def row_failures(status: dict[str, Any]) -> dict[int, str]:
    """Operation index → the vendor's message, for the errors of a partial failure."""
    return {index: row_message(errors) for index, errors in row_errors(status).items()}


def _seconds(duration: Any) -> float | None:
    match = _DURATION.match(str(duration)) if duration is not None else None
    return float(match.group(1)) if match else None


def _retry_delays(error: dict[str, Any]) -> Iterator[float]:
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        delay = _seconds(detail.get("retryDelay"))  # google.rpc.RetryInfo
        if delay is not None:
            yield delay
        for ads_error in detail.get("errors") or []:
            quota = ((ads_error or {}).get("details") or {}).get("quotaErrorDetails") or {}
            delay = _seconds(quota.get("retryDelay"))
            if delay is not None:
                yield delay


def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
    """``Retry-After`` if sent, else the ``retryDelay`` Google puts in a RESOURCE_EXHAUSTED body.
    A wait longer than :data:`MAX_RETRY_WAIT` (a daily quota resets hours later) is not waited out
    inside a run: the retries back off briefly, the rows end *failed* and the next run retries them."""
    retry_after = RateHeaders.from_retry_after(response, now).retry_after
    if retry_after is None and response.status_code == 429:
        retry_after = max(_retry_delays(error_of(response)), default=None)
    return RateHeaders(
        retry_after=retry_after if retry_after is None or retry_after <= MAX_RETRY_WAIT else None
    )


def raise_for_error(response: httpx.Response, vendor: str) -> None:
    """Map a non-2xx Google answer to the SDK's groups: credentials and permissions →
    :class:`ConfigError`, quota → :class:`RateLimited`, anything else about the data →
    :class:`RowRejected` (delivery splits the batch to find the rows at fault)."""
    if response.is_success:
        return
    error = error_of(response)
    message = describe(error, response.status_code)
    codes = {error_code(e) for e in ads_errors(error)}
    families = {code.split(".", 1)[0] for code in codes} | {code.split(".")[-1] for code in codes}
    if response.status_code == 429 or error.get("status") == "RESOURCE_EXHAUSTED":
        raise RateLimited(f"{vendor} quota exhausted: {message}", max(_retry_delays(error), default=None))
    if (
        response.status_code in (401, 403)
        or error.get("status") in CONFIG_STATUSES
        or families & CONFIG_CODES
    ):
        raise ConfigError(f"{vendor} refused the credentials, permissions or account: {message}")
    if response.status_code == 404:
        raise ConfigError(f"{vendor}: not found: {message}")
    raise RowRejected(f"{vendor}: {message}")
