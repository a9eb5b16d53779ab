"""Reading Google's error bodies: per-row failures of a GoogleAdsFailure, quota waits, error groups."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.google_ads.api import describe, raise_for_error, rate_headers, row_failures

FAILURE = "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"


def _error(
    status: str, code: int, *errors: dict[str, Any], details: list[Any] | None = None
) -> dict[str, Any]:
    detail = [{"@type": FAILURE, "errors": list(errors), "requestId": "r1"}] if errors else []
    return {
        "error": {
            "code": code,
            "message": "Request contains an invalid argument.",
            "status": status,
            "details": detail + (details or []),
        }
    }


def _at(index: int, code: dict[str, str], message: str) -> dict[str, Any]:
    path = [{"fieldName": "operations", "index": index}, {"fieldName": "create"}]
    return {"errorCode": code, "message": message, "location": {"fieldPathElements": path}}


def test_partial_failures_point_at_their_rows_with_googles_words() -> None:
    status = _error(
        "INVALID_ARGUMENT",
        400,
        _at(
            2, {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}, "The SHA256 encoded value is malformed."
        ),
        _at(5, {"conversionUploadError": "CLICK_NOT_FOUND"}, "No click."),
        _at(5, {"conversionUploadError": "EXPIRED_EVENT"}, "Too old."),
    )["error"]
    assert row_failures(status) == {
        2: "The SHA256 encoded value is malformed. (offlineUserDataJobError.INVALID_SHA256_FORMAT)",
        5: "No click. (conversionUploadError.CLICK_NOT_FOUND); Too old. (conversionUploadError.EXPIRED_EVENT)",
    }
    assert describe({"message": "Boom", "status": "INTERNAL"}) == "Boom (INTERNAL)"


@pytest.mark.parametrize(
    ("body", "wait"),
    [
        (
            _error(
                "RESOURCE_EXHAUSTED",
                429,
                {
                    "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                    "message": "x",
                    "details": {"quotaErrorDetails": {"retryDelay": "30s"}},
                },
            ),
            30.0,
        ),
        (
            _error(
                "RESOURCE_EXHAUSTED",
                429,
                details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}],
            ),
            1.5,
        ),
        (
            _error(
                "RESOURCE_EXHAUSTED",
                429,
                {
                    "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                    "message": "daily",
                    "details": {"quotaErrorDetails": {"retryDelay": "43200s"}},
                },
            ),
            None,
        ),
    ],
)
def test_quota_errors_give_their_retry_delay_within_reason(body: dict[str, Any], wait: float | None) -> None:
    assert rate_headers(httpx.Response(429, json=body), 0.0).retry_after == wait


def test_error_groups() -> None:
    denied = _error(
        "PERMISSION_DENIED",
        403,
        {"errorCode": {"authorizationError": "USER_PERMISSION_DENIED"}, "message": "No access."},
    )
    with pytest.raises(ConfigError, match="No access"):
        raise_for_error(httpx.Response(403, json=denied), "Google Ads")
    terms = _error(
        "INVALID_ARGUMENT",
        400,
        {
            "errorCode": {"offlineUserDataJobError": "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS"},
            "message": "Terms.",
        },
    )
    with pytest.raises(ConfigError, match="Terms"):
        raise_for_error(httpx.Response(400, json=terms), "Google Ads")
    bad = _error(
        "INVALID_ARGUMENT",
        400,
        {"errorCode": {"requestError": "TOO_MANY_MUTATE_OPERATIONS"}, "message": "Too many."},
    )
    with pytest.raises(RowRejected, match=r"Too many\. \(requestError.TOO_MANY_MUTATE_OPERATIONS\)"):
        raise_for_error(httpx.Response(400, json=bad), "Google Ads")
    raise_for_error(httpx.Response(200, json={}), "Google Ads")
