"""Destination errors, grouped by what the caller does (BRIEF §5).

The sync engine never parses vendor text: it reacts to the type. ``ConfigError`` pauses the
activation, ``RateLimited`` and ``Transient`` are retried, ``RowRejected`` marks rows rejected.
"""

from __future__ import annotations

from sluice.core.errors import SluiceError


class DestinationError(SluiceError):
    """Base of the errors a connector raises."""

    status = 502
    code = "destination_error"
    title = "Destination error"


class ConfigError(DestinationError):
    """Fatal: bad credentials, missing permission, unknown target. The run fails and the
    activation pauses with this message until a connection test succeeds."""

    status = 422
    code = "destination_config"
    title = "Destination configuration error"


class RateLimited(DestinationError):
    """The vendor asked us to slow down; ``retry_after`` seconds if it said how long."""

    status = 429
    code = "destination_rate_limited"
    title = "Destination rate limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transient(DestinationError):
    """A failure worth retrying: 5xx, timeout, connection reset, malformed body."""

    code = "destination_transient"
    title = "Destination temporarily failing"


class RowRejected(DestinationError):
    """The vendor refused the data permanently (e.g. contact not found). Raised for a whole
    batch, delivery splits it to find the rows at fault; for one row it becomes ``rejected``."""

    status = 422
    code = "destination_rejected"
    title = "Rejected by the destination"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
