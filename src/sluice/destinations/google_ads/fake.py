"""Emulator parts every Google API fake here shares (Google Ads, Display & Video 360, Search Ads 360).

- :class:`GoogleEmulator`: Google's OAuth 2.0 server at its paths (``POST /token``,
  ``GET /o/oauth2/v2/auth``; :class:`~sluice.destinations.oauth_emulation.OAuthServer`, access
  tokens living 3,599 s on the emulator's clock), a bearer token required on every API call (401
  ``UNAUTHENTICATED`` otherwise), and Google's error body ``{"error": {code, message, status,
  details}}`` for 429 ``RESOURCE_EXHAUSTED`` and 500 ``INTERNAL``.
- :class:`GoogleAdsApiEmulator`: the Google Ads API on top of it: ``developer-token`` and
  ``login-customer-id`` headers, ``GoogleAdsFailure`` errors, and ``googleAds:search`` with a small
  GAQL reader (``SELECT … FROM <resource> [WHERE a = v AND …] [LIMIT n]``) over the rows a
  subclass exposes per resource.

Stated assumptions (the shapes come from Google's reference pages; the exact wording of
messages and the error codes chosen for a bad developer token are not confirmed against a live
account): see the README of each destination.
"""

from __future__ import annotations

import base64
import re
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.oauth_emulation import OAuthServer

CLIENT_ID = "sluice-emulator.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-emulator-secret"  # noqa: S105 - the local fake's credentials
TOKEN_LIFETIME = 3599
GAQL_PAGE = 10_000  # Google Ads returns search results in fixed pages of 10,000 rows

#: HTTP status of each google.rpc code name
STATUS_CODES = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
}


class GoogleError(Exception):
    """A Google API error; ``ads_errors`` become a ``GoogleAdsFailure`` detail."""

    def __init__(self, status: str, message: str, ads_errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.ads_errors = status, message, ads_errors or []


def ads_error(family: str, code: str, message: str, *path: tuple[str, int | None]) -> dict[str, Any]:
    """One ``GoogleAdsError``: ``errorCode {family: code}``, message and the field path at fault."""
    error: dict[str, Any] = {"errorCode": {family: code}, "message": message}
    if path:
        error["location"] = {
            "fieldPathElements": [
                {"fieldName": name, **({"index": index} if index is not None else {})} for name, index in path
            ]
        }
    return error


class GoogleEmulator(Emulator):
    """OAuth server, bearer tokens and Google's error bodies; subclasses add the API."""

    #: the failure type of this API's error details (None: plain google.rpc.Status)
    failure_type: ClassVar[str | None] = None
    scope: ClassVar[str] = "https://www.googleapis.com/auth/adwords"

    def __init__(self, **kwargs: Any) -> None:
        self.oauth = OAuthServer(clock=lambda: self.clock(), access_ttl=TOKEN_LIFETIME)
        self.client_id, self.client_secret = self.oauth.register_client(CLIENT_ID, CLIENT_SECRET)
        self.refresh_token = self.oauth.issue_refresh_token(self.client_id, self.scope)
        super().__init__(**kwargs)

    # -- errors ------------------------------------------------------------------------------

    def error_body(self, status: str, message: str, ads_errors: list[dict[str, Any]] | None = None) -> Any:
        error: dict[str, Any] = {"code": STATUS_CODES.get(status, 400), "message": message, "status": status}
        if ads_errors and self.failure_type:
            error["details"] = [
                {"@type": self.failure_type, "errors": ads_errors, "requestId": uuid.uuid4().hex[:22]}
            ]
        return {"error": error}

    def error_response(
        self, status: str, message: str, ads_errors: list[dict[str, Any]] | None = None
    ) -> JSONResponse:
        return JSONResponse(
            self.error_body(status, message, ads_errors), status_code=STATUS_CODES.get(status, 400)
        )

    def rate_limited(self) -> Response:
        quota = [
            {
                "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                "message": "Too many requests. Retry in 2 seconds.",
                "details": {"quotaErrorDetails": {"rateScope": "DEVELOPER", "retryDelay": "2s"}},
            }
        ]
        body = self.error_body("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", quota)
        if not self.failure_type:
            body["error"]["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}
            ]
        return JSONResponse(body, status_code=429)

    def server_error(self) -> Response:
        return self.error_response("INTERNAL", "Internal error encountered.")

    # -- OAuth -------------------------------------------------------------------------------

    def authorise(self, request: Request) -> None:
        """Require a live ``Authorization: Bearer`` access token issued by the OAuth server."""
        if self.oauth.bearer_refusal(request) is not None:
            raise GoogleError(
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
                [ads_error("authenticationError", "OAUTH_TOKEN_INVALID", "Oauth token is invalid.")],
            )

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(GoogleError)
        async def _google_error(_: Request, exc: GoogleError) -> JSONResponse:
            return self.error_response(exc.status, exc.message, exc.ads_errors)

        self.oauth.add_routes(app, token_path="/token", authorize_path="/o/oauth2/v2/auth")  # noqa: S106

        self.add_api_routes(app)

    @abstractmethod
    def add_api_routes(self, app: FastAPI) -> None:
        """The API's own paths (requests reach them only with a valid bearer token)."""

    def oauth_config(self, base_url: str, *, valid: bool) -> dict[str, Any]:
        """The OAuth part of a connector config reaching this emulator (a revoked refresh token
        when ``valid`` is false)."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token if valid else "1//revoked-refresh-token",
            "oauth_base_url": base_url.rstrip("/"),
        }

    def page(self, rows: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
        """One page of ``rows`` from an opaque page token, and the next token (None at the end)."""
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        chosen = rows[start : start + size]
        end = start + len(chosen)
        return chosen, base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(rows) else None


# ---------------------------------------------------------------------------------------------
# Google Ads API

_SELECT = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+[\w.]+(?:\s+(?:ASC|DESC))?)?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
#: one ``field = literal`` condition, then ``AND`` or the end of the WHERE clause
_CONDITION = re.compile(
    r"\s*([\w.]+)\s*=\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[\w.-]+)\s*(?:AND\b|$)", re.IGNORECASE
)


def camel(name: str) -> str:
    """``match_rate_percentage`` → ``matchRatePercentage`` (GAQL names to REST JSON names)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _literal(text: str) -> str:
    if text[:1] in ("'", '"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _conditions(where: str) -> list[tuple[str, str]]:
    """``(field, value)`` of each ``field = literal`` joined by AND (the GAQL the connectors send)."""
    found, position = [], 0
    while position < len(where):
        match = _CONDITION.match(where, position)
        if match is None or match.end() == position:
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    ads_error(
                        "queryError", "UNEXPECTED_INPUT", f"Error in query: {where[position:].strip()!r}."
                    )
                ],
            )
        found.append((match.group(1), _literal(match.group(2))))
        position = match.end()
    return found


class GoogleAdsApiEmulator(GoogleEmulator):
    """The Google Ads API frame: headers, customers, ``googleAds:search``; subclasses add services
    under ``/{version}/customers/{customer_id}/…`` and expose searchable rows via :meth:`resources`."""

    failure_type = "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"
    developer_token = "emulator-developer-token"  # noqa: S105
    customer_id = "1234567890"
    manager_id = "9876543210"
    customer_name = "Sluice demo customer"

    def check_headers(self, request: Request, customer_id: str) -> None:
        """Bearer token, developer token, and access to the customer (directly or via the manager
        named in ``login-customer-id``)."""
        self.authorise(request)
        if request.headers.get("developer-token") != self.developer_token:
            raise GoogleError(
                "UNAUTHENTICATED",
                "The developer token is not valid.",
                [
                    ads_error(
                        "authenticationError", "DEVELOPER_TOKEN_INVALID", "The developer token is not valid."
                    )
                ],
            )
        login = request.headers.get("login-customer-id")
        if login is not None and login not in (self.customer_id, self.manager_id):
            raise GoogleError(
                "PERMISSION_DENIED",
                "The caller does not have permission",
                [
                    ads_error(
                        "authorizationError",
                        "USER_PERMISSION_DENIED",
                        "User doesn't have permission to access customer.",
                    )
                ],
            )
        if customer_id != self.customer_id:
            raise GoogleError(
                "PERMISSION_DENIED",
                "The caller does not have permission",
                [
                    ads_error(
                        "authorizationError",
                        "USER_PERMISSION_DENIED",
                        f"User doesn't have permission to access customer {customer_id}.",
                    )
                ],
            )

    def ads_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        """The Google Ads part of a connector config reaching this emulator."""
        return {
            **self.oauth_config(base_url, valid=valid),
            "developer_token": self.developer_token,
            "customer_id": self.customer_id,
            "login_customer_id": self.manager_id,
            "base_url": base_url.rstrip("/"),
        }

    def resources(self) -> dict[str, Callable[[], Iterable[dict[str, Any]]]]:
        """GAQL resource name → its rows as snake_case field dicts (``{"user_list": {...}}``)."""
        return {
            "customer": lambda: [
                {"customer": {"id": self.customer_id, "descriptive_name": self.customer_name}}
            ]
        }

    def search(self, query: str, page_token: str | None) -> dict[str, Any]:
        match = _SELECT.match(query or "")
        if not match:
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    ads_error(
                        "queryError", "UNEXPECTED_INPUT", "Error in query: unexpected input.", ("query", None)
                    )
                ],
            )
        resource = match.group("resource")
        source = self.resources().get(resource)
        if source is None:
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [ads_error("queryError", "INVALID_RESOURCE_NAME", f"Invalid resource name '{resource}'.")],
            )
        conditions = _conditions(match.group("where") or "")
        fields = [f.strip() for f in match.group("fields").split(",")]

        def value(row: dict[str, Any], dotted: str) -> Any:
            current: Any = row
            for part in dotted.split("."):
                current = current.get(part) if isinstance(current, dict) else None
            return current

        rows = [r for r in source() if all(str(value(r, f)) == v for f, v in conditions)]
        if match.group("limit"):
            rows = rows[: int(match.group("limit"))]
        chosen, next_token = self.page(rows, page_token, self.page_size(GAQL_PAGE, GAQL_PAGE))
        results = []
        for row in chosen:
            out: dict[str, Any] = {}
            for dotted in fields:
                found = value(row, dotted)
                if found is None:
                    continue
                head, *rest = dotted.split(".")
                node = out.setdefault(camel(head), {})
                for part in rest[:-1]:
                    node = node.setdefault(camel(part), {})
                node[camel(rest[-1]) if rest else head] = found
            results.append(out)
        body: dict[str, Any] = {"results": results, "fieldMask": ",".join(camel(f) for f in fields)}
        if next_token:
            body["nextPageToken"] = next_token
        return body

    def add_api_routes(self, app: FastAPI) -> None:
        @app.post("/{version}/customers/{customer_id}/googleAds:search")
        async def search(version: str, customer_id: str, request: Request) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            body = await self.json_body(request) or {}
            return self.search(str(body.get("query", "")), body.get("pageToken"))

        self.add_ads_routes(app)

    @abstractmethod
    def add_ads_routes(self, app: FastAPI) -> None:
        """The services of this destination under ``/{version}/customers/{customer_id}/``."""
