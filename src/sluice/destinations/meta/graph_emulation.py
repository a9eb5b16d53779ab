"""What every fake of a Meta Graph API product shares (custom audiences, Conversions API): the
access token as ``Authorization: Bearer``/``OAuth`` or ``access_token`` (code 190 otherwise), Graph
error objects ``{"error": {message, type, code, error_subcode, fbtrace_id}}``, the throttling answer
(429 with code 80003 and ``X-Business-Use-Case-Usage``; the status is an assumption, see
``meta/README.md``) and the transient 500 (code 1, ``is_transient``)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator

ACCESS_TOKEN = "EAAGemulator0000000000000000000000"  # noqa: S105 - the local fake's token
WRONG_TOKEN = "EAAGwrong000000000000000000000000"  # noqa: S105 - a token the fake refuses
ACCOUNT_ID = "act_1234567890"


def email_hash(email: str) -> str:
    """SHA-256 of a trimmed, lowercased email (Meta's ``EMAIL`` / ``em`` normalisation)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class GraphError(Exception):
    """Raised by routes; served as a Graph error object."""

    def __init__(
        self, status: int, message: str, code: int, subcode: int | None = None, **extra: Any
    ) -> None:
        self.status, self.message, self.code, self.subcode, self.extra = status, message, code, subcode, extra


def graph_error(
    status: int, message: str, code: int, subcode: int | None = None, **extra: Any
) -> JSONResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": uuid.uuid4().hex[:11],
        **extra,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    headers = {}
    if code == 190:
        headers["WWW-Authenticate"] = (
            'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."'
        )
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def not_found(object_id: str, method: str = "get") -> GraphError:
    return GraphError(
        400,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        100,
        33,
    )


class GraphEmulator(Emulator):
    """Base of the Meta fakes: token check, Graph errors, throttling and transient failures."""

    #: what the throttling answer names (the emulated product's limit)
    throttled_message = "There have been too many calls from this ad-account. Wait a bit and try again."
    throttled_usage_type = "ADS_MANAGEMENT"

    def __init__(self, **kwargs: Any) -> None:
        self.access_token = ACCESS_TOKEN
        self.known: dict[str, str] = {}  # email hash → the email the suite seeded
        super().__init__(**kwargs)

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        """Meta takes anyone: seeding only lets the fake name the person behind a hash."""
        for email in identifiers:
            self.known[email_hash(email)] = email

    @staticmethod
    def graph_url(base_url: str) -> str:
        """The Graph API base URL a connector config points at (any version is served)."""
        return f"{base_url.rstrip('/')}/v25.0"

    def rate_limited(self) -> Response:
        response = graph_error(429, self.throttled_message, 80003, 2446079, is_transient=True)
        usage = {
            ACCOUNT_ID.removeprefix("act_"): [
                {"type": self.throttled_usage_type, "call_count": 100, "estimated_time_to_regain_access": 1}
            ]
        }
        response.headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        return response

    def server_error(self) -> Response:
        return graph_error(500, "An unknown error occurred", 1, 99, is_transient=True)

    def authorise(self, request: Request) -> None:
        """Raise the Graph error Meta answers for a missing or wrong token."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = (
            value if scheme.lower() in ("bearer", "oauth") else request.query_params.get("access_token", "")
        )
        if not token:
            raise GraphError(
                400, "An active access token must be used to query information about the current user.", 2500
            )
        if token != self.access_token:
            raise GraphError(400, "Invalid OAuth access token - Cannot parse access token", 190)

    def token(self, *, valid: bool) -> str:
        """The token a connector config carries (a refused one when not ``valid``)."""
        return self.access_token if valid else WRONG_TOKEN

    @staticmethod
    def add_error_handler(app: FastAPI) -> None:
        """Serve :class:`GraphError` raised by routes as Graph error objects."""

        @app.exception_handler(GraphError)
        async def _graph_error(_: Request, exc: GraphError) -> JSONResponse:
            return graph_error(exc.status, exc.message, exc.code, exc.subcode, **exc.extra)
