"""The error vocabulary of Sluice.

Services raise these; the API maps them to ``application/problem+json`` in one place
(:mod:`sluice.api.problems`) and the CLI prints their ``message``. Each error carries a
user-facing message that is safe to show (no secrets, no tracebacks).
"""

from __future__ import annotations

from typing import Any, ClassVar


class SluiceError(Exception):
    """Base of every error meant for a user."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class SettingsError(SluiceError):
    """A setting has a bad value; start-up stops."""

    code = "invalid_setting"
    title = "Invalid setting"


class InvalidInput(SluiceError):
    """The request or config is malformed or refers to something impossible."""

    status = 422
    code = "invalid_input"
    title = "Invalid input"


class NotFound(SluiceError):
    """No such object in this workspace (also used for objects of other workspaces)."""

    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(SluiceError):
    """The change clashes with the current state (duplicate name, run already active, …)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class NotAuthenticated(SluiceError):
    """No valid credentials were presented."""

    status = 401
    code = "not_authenticated"
    title = "Not authenticated"


class PermissionDenied(SluiceError):
    """The principal lacks the permission the action needs."""

    status = 403
    code = "permission_denied"
    title = "Permission denied"


class TooManyRequests(SluiceError):
    """The caller is being rate limited."""

    status = 429
    code = "too_many_requests"
    title = "Too many requests"


class UpstreamError(SluiceError):
    """A warehouse or destination answered with an error; the message quotes it."""

    status = 502
    code = "upstream_error"
    title = "Upstream error"
