"""The destination SDK: what every connector declares and implements (BRIEF §5).

A destination is one folder ``sluice/destinations/<name>/`` with ``config.py`` (pydantic config,
secrets as ``SecretStr``), ``connector.py`` (a :class:`Connector` subclass), ``emulator.py`` (a
local fake of the vendor API, see :mod:`sluice.destinations.emulation`) and ``README.md``.
The registry (:mod:`sluice.destinations.registry`) finds it; nothing else needs editing.

The sync engine talks to connectors through :class:`Op` and :class:`Outcome` only, and through
:func:`sluice.destinations.delivery.deliver`, which batches, paces, retries and splits. A
connector never parses another vendor's text and the engine never parses any: failures arrive
as one of the four error groups below, named after what the caller does.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sluice.destinations.errors import ConfigError, DestinationError, RateLimited, RowRejected, Transient
from sluice.destinations.http import RateHeaders, VendorHttp
from sluice.sync.audience import IdentifierKind
from sluice.sync.validate import _PATTERNS

if TYPE_CHECKING:
    from sluice.destinations.oauth import OAuthApp, SecretsChanged

#: the identifier rules the sync engine validates with (one place), checked again before sending
IDENTIFIER_CHECKS: dict[IdentifierKind, tuple[re.Pattern[str], str]] = {
    kind: (re.compile(pattern), message) for kind, (pattern, message) in _PATTERNS.items()
}

__all__ = [
    "ActivationDefaults",
    "Capabilities",
    "ConfigError",
    "Connector",
    "DestinationConfig",
    "DestinationError",
    "IdentifierKind",
    "Op",
    "OpKind",
    "Outcome",
    "OutcomeStatus",
    "RateLimit",
    "RateLimited",
    "ReplaceBatch",
    "RowRejected",
    "Service",
    "Target",
    "TargetPage",
    "TargetSpec",
    "Transient",
]


# ---------------------------------------------------------------------------------------------
# Operations and outcomes


class Service(StrEnum):
    """What an activation does at the destination."""

    MEMBERSHIP = "membership"
    UPSERT = "upsert"
    EVENTS = "events"
    CONSENT = "consent"


class OpKind(StrEnum):
    """One operation of a plan (see :mod:`sluice.sync.plan`)."""

    ADD = "add"
    REMOVE = "remove"
    UPSERT = "upsert"
    DELETE = "delete"
    CLEAR = "clear"
    EVENT = "event"
    CONSENT_SET = "consent_set"
    CONSENT_REVERT = "consent_revert"


@dataclass(frozen=True)
class Op:
    """One thing to do for one row: ``key`` is the model's primary key as text, ``identifier``
    what the destination matches on (email, external id, contact id, …)."""

    kind: OpKind
    key: str
    identifier: str
    fields: Mapping[str, Any] = field(default_factory=dict)


class OutcomeStatus(StrEnum):
    """How one op ended. ``failed`` rows are retried by the next run; ``rejected`` are not
    retried until their data changes."""

    DELIVERED = "delivered"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """The result of one op; ``message`` keeps the vendor's words for rejected/failed rows."""

    key: str
    status: OutcomeStatus
    message: str = ""
    kind: OpKind | None = None
    identifier: str = ""

    @classmethod
    def of(cls, op: Op, status: OutcomeStatus, message: str = "") -> Outcome:
        return cls(op.key, status, message, op.kind, op.identifier)


# ---------------------------------------------------------------------------------------------
# Capabilities and targets


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds`` (per credential)."""

    requests: float
    per_seconds: float = 1.0


@dataclass(frozen=True)
class Capabilities:
    """What a destination can do; the API shows it and delivery obeys it.

    ``batch_size`` caps ops per :meth:`Connector.apply` call (the vendor's request limit);
    ``concurrency`` caps requests in flight per credential; ``read_members_note`` says why
    members cannot be read when ``can_read_members`` is false.
    """

    services: frozenset[Service]
    target_kinds: frozenset[str]
    identifiers: frozenset[IdentifierKind]
    batch_size: int
    concurrency: int
    rate_limit: RateLimit | None = None
    can_create_targets: bool = False
    can_read_members: bool = False
    read_members_note: str = ""
    full_refresh: str = "remove members not in the audience"
    #: false when the vendor accepts any identifier and matches later (ad platforms' hashed
    #: audiences): an unknown person is never refused per row; ``unknown_contacts_note`` says so
    rejects_unknown_contacts: bool = True
    unknown_contacts_note: str = ""
    #: events service: the vendor drops a resent event whose id (the op key) it already counted, so
    #: a retry after a lost answer never counts twice; ``event_dedupe_note`` says why not when false
    deduplicates_events: bool = False
    event_dedupe_note: str = ""
    #: events service: the oldest event the vendor accepts, in seconds before now (None: no window);
    #: older events are rejected before sending (:func:`sluice.destinations.events.stale_reason`)
    event_max_age: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API."""
        return {
            "services": sorted(self.services),
            "target_kinds": sorted(self.target_kinds),
            "identifiers": sorted(self.identifiers),
            "batch_size": self.batch_size,
            "concurrency": self.concurrency,
            "rate_limit": (
                {"requests": self.rate_limit.requests, "per_seconds": self.rate_limit.per_seconds}
                if self.rate_limit
                else None
            ),
            "can_create_targets": self.can_create_targets,
            "can_read_members": self.can_read_members,
            "read_members_note": self.read_members_note,
            "full_refresh": self.full_refresh,
            "rejects_unknown_contacts": self.rejects_unknown_contacts,
        }


@dataclass(frozen=True)
class Target:
    """A place at the destination an activation writes to (a static segment, a tag, a label…)."""

    kind: str
    id: str
    name: str
    parent_id: str | None = None
    size: int | None = None
    #: how this activation's ops address contacts in the target (email, external id, …)
    identifier_kind: IdentifierKind = IdentifierKind.EMAIL

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id,
            "size": self.size,
            "identifier_kind": str(self.identifier_kind),
        }


@dataclass(frozen=True)
class TargetSpec:
    """What an activation asks for: an existing target by ``id``, or one found/created by ``name``."""

    kind: str
    name: str = ""
    id: str | None = None
    parent_id: str | None = None
    create_if_missing: bool = True
    #: how the activation's ops address contacts; copied onto the :class:`Target` ensured
    identifier_kind: IdentifierKind = IdentifierKind.EMAIL


@dataclass(frozen=True)
class StandardField:
    """A field the destination knows, and the standard meaning (``sluice.models.meanings``) it takes.

    New activations pre-fill their mapping from these: a model field whose meaning matches is
    mapped to ``name``.
    """

    name: str
    meaning: str
    description: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "meaning": self.meaning, "description": self.description}


@dataclass(frozen=True)
class ReplaceBatch:
    """One request of a full refresh by replacement (:meth:`Connector.replace_members`): batches of
    one session are numbered from 1; the vendor swaps the target's members when ``last`` arrives."""

    session_id: int
    seq: int
    last: bool
    #: adds planned for the whole refresh (the vendor's hint for processing)
    estimated_total: int


@dataclass(frozen=True)
class TargetPage:
    """One page of targets for a picker; pass ``next_cursor`` back for the next page."""

    items: list[Target]
    next_cursor: str | None = None


class DestinationConfig(BaseModel):
    """Base of every destination's config. Secret fields are ``SecretStr``; the JSON Schema of
    the subclass drives the UI form."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def secret_field_names(cls) -> list[str]:
        """Fields stored encrypted and never returned by the API."""
        return [
            name
            for name, info in cls.model_fields.items()
            if info.annotation in (SecretStr, SecretStr | None)
        ]


class ActivationDefaults(BaseModel):
    """Default activation settings of a destination (the spec's "setup default activation
    settings"): each activation starts from them and may override any of them."""

    model_config = ConfigDict(extra="forbid")

    service: Service = Service.MEMBERSHIP
    target_kind: str = Field(description="Kind of target new activations write to.")
    target_name_from: str = Field(
        default="segment_name",
        description="Name of the created target: 'segment_name' or 'activation_name'.",
    )
    identifier: IdentifierKind = IdentifierKind.EMAIL
    schedule: dict[str, Any] = Field(default_factory=lambda: {"kind": "interval", "minutes": 60})


# ---------------------------------------------------------------------------------------------
# The connector


class Connector(ABC):
    """One destination type: class attributes declare it, an instance talks to one account.

    Subclasses set the class attributes and implement the abstract methods; :meth:`apply` gets
    one batch (ops of one kind, at most ``capabilities.batch_size``) and returns an outcome per
    op, or raises for the whole batch. Retries, pacing and splitting happen around it.
    """

    type_name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    docs_url: ClassVar[str] = ""
    config_model: ClassVar[type[DestinationConfig]]
    activation_defaults: ClassVar[type[ActivationDefaults]]
    capabilities: ClassVar[Capabilities]
    standard_fields: ClassVar[tuple[StandardField, ...]] = ()
    #: the vendor's OAuth server, for destinations authorized with OAuth 2.0 (see
    #: :mod:`sluice.destinations.oauth`); requests then carry a bearer token refreshed as needed
    oauth_app: ClassVar[OAuthApp | None] = None

    def __init__(self, config: DestinationConfig, http: VendorHttp) -> None:
        self.config = config
        self.http = http

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every connector's ``ensure_target`` returns a target carrying the spec's identifier kind
        (connectors need not copy it themselves)."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("ensure_target")
        if own is None or getattr(own, "keeps_identifier_kind", False):
            return

        @functools.wraps(own)
        async def ensure_target(self: Connector, spec: TargetSpec) -> Target:
            target: Target = await own(self, spec)
            return dataclasses.replace(target, identifier_kind=spec.identifier_kind)

        ensure_target.keeps_identifier_kind = True  # type: ignore[attr-defined]
        setattr(cls, "ensure_target", ensure_target)  # noqa: B010 - wrapping the subclass's method

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        config: DestinationConfig | Mapping[str, Any],
        http_client: httpx.AsyncClient | None = None,
        *,
        on_secrets_changed: SecretsChanged | None = None,
    ) -> Self:
        """A connector for one account; ``http_client`` lets tests route to an emulator.
        ``on_secrets_changed`` persists secrets the vendor replaced (a rotated OAuth refresh token)."""
        parsed = config if isinstance(config, cls.config_model) else cls.config_model.model_validate(config)
        client = http_client or httpx.AsyncClient()
        limit = cls.rate_limit_for(parsed)
        http = VendorHttp(
            client,
            base_url=cls.base_url(parsed),
            headers=cls.auth_headers(parsed),
            auth=cls.auth(parsed),
            concurrency=cls.capabilities.concurrency,
            rate_limit=(limit.requests, limit.per_seconds) if limit else None,
            rate_headers=cls.rate_headers,
            owns_client=http_client is None,
        )
        if cls.oauth_app is not None:
            from sluice.destinations.oauth import BearerAuth, ClientCredentialsConfig, TokenSource

            if not isinstance(parsed, ClientCredentialsConfig):
                raise TypeError(
                    f"{cls.__name__}.config_model must subclass OAuthConfig or ClientCredentialsConfig"
                )
            source = TokenSource(
                cls.oauth_app, parsed, on_secrets_changed=on_secrets_changed, clock=lambda: http.clock()
            )
            http.auth = BearerAuth(source)
        return cls(parsed, http)

    @classmethod
    @abstractmethod
    def base_url(cls, config: Any) -> str:
        """The vendor's base URL for this account (region, data center, tenant)."""

    @classmethod
    def rate_limit_for(cls, config: Any) -> RateLimit | None:
        """The request rate to keep for this account (default: the declared capability)."""
        return cls.capabilities.rate_limit

    @classmethod
    def auth_headers(cls, config: Any) -> dict[str, str]:
        """Headers sent on every request (auth, API version, user agent)."""
        return {}

    @classmethod
    def auth(cls, config: Any) -> httpx.Auth | None:
        """An httpx auth (e.g. Basic) when headers are not enough."""
        return None

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        """Read the vendor's rate-limit headers (``now`` in Unix seconds); default: ``Retry-After``."""
        return RateHeaders.from_retry_after(response, now)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- what every connector implements --------------------------------------------------

    @abstractmethod
    async def check(self) -> str:
        """Test the connection; return a short success message or raise :class:`ConfigError`."""

    @abstractmethod
    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        """One page of existing targets for pickers."""

    @abstractmethod
    async def ensure_target(self, spec: TargetSpec) -> Target:
        """The target ``spec`` names, created when missing and allowed."""

    @abstractmethod
    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        """Send one batch; an outcome per op (delivered or rejected with the vendor's reason)."""

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        """Every identifier in a remote target, across all pages."""
        raise ConfigError(
            f"{self.title} does not let Sluice read members: {self.capabilities.read_members_note}"
        )
        yield ""  # pragma: no cover - makes this an async generator

    async def reset_target(self, target: Target) -> Target:
        """Full (historical) refresh: empty the target; returns it (with a new id if recreated)."""
        ops = [Op(OpKind.REMOVE, member, member) async for member in self.read_members(target)]
        for start in range(0, len(ops), self.capabilities.batch_size):
            await self.apply(target, ops[start : start + self.capabilities.batch_size])
        return target

    async def replace_members(self, target: Target, ops: Sequence[Op], batch: ReplaceBatch) -> list[Outcome]:
        """Full refresh by replacement, for vendors that swap a target's whole membership: ``ops``
        (adds, at most ``batch_size``) are one part of the new membership; people not sent by the
        time ``batch.last`` is taken are removed by the vendor. Overriding this makes full refresh
        use it (see :class:`sluice.sync.load.Replacement`); raise like :meth:`apply`."""
        raise NotImplementedError(f"{self.title} cannot replace a target's members")

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Why ``op``'s identifier must not be sent (checked before any request), or None."""
        if kind not in self.capabilities.identifiers:
            return f"{self.title} does not accept {kind} identifiers"
        if not op.identifier or not op.identifier.strip():
            return "identifier is empty"
        check = IDENTIFIER_CHECKS.get(kind)
        if check is not None and not check[0].fullmatch(op.identifier):
            return check[1]
        return None
