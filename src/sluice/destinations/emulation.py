"""What every emulator shares: request log, fault injection, latency, an inspection API, and the
hooks the conformance suite drives.

An emulator is a faithful fake of one vendor's HTTP API, as an ASGI app (:attr:`Emulator.app`):
the vendor's paths, auth header, JSON shapes, errors, pagination, batch limits and 429s. Tests
use it in-process (``httpx.ASGITransport``); ``sluice destination emulate NAME`` serves it on a
port for the demo. Under ``/_emulator/`` each one offers the same inspection API:

- ``GET /_emulator/state`` — what the fake account holds; ``GET /_emulator/requests`` — the log;
- ``POST /_emulator/faults`` ``{"kind": "rate_limit|server_error|timeout|malformed|lost_response",
  "count": n, "after": k}`` (the faults start after ``k`` more requests were served normally:
  mid-pagination; ``lost_response`` lets the vendor act, then answers 504 as a proxy that lost it);
- ``POST /_emulator/latency`` ``{"seconds": 0.05}``; ``POST /_emulator/contacts`` ``{"identifiers": […]}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.destinations.sdk import Target, TargetSpec
from sluice.sync.audience import IdentifierKind

INSPECTION_PREFIX = "/_emulator"
PARSED_BODY = "emulator_parsed_body"
#: what :meth:`Emulator._refusal` returns for a lost response: serve the route, then answer 504
LOST = Response(status_code=504)


def local_path(request: Request) -> str:
    """The request path as the vendor sees it (without the prefix the emulator is mounted under)."""
    path = str(request.scope.get("path", ""))
    root = str(request.scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class _VendorEdge:
    """Pure ASGI middleware handing vendor requests to :meth:`Emulator.edge` (inspection routes pass)."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or local_path(Request(scope)).startswith(INSPECTION_PREFIX):
            await self.app(scope, receive, send)
            return
        await self.emulator.edge(scope, receive, send, self.app)


class FaultKind(StrEnum):
    """Injected failures, served before the vendor logic runs."""

    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    #: the vendor processes the request, then the client gets a 504: the request must be safe to resend
    LOST_RESPONSE = "lost_response"


@dataclass
class RecordedRequest:
    """One request the emulator received, as the vendor would have seen it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class ReceivedEvent:
    """One event as the vendor counted it (after its own deduplication), for the events suite."""

    #: the person, as ops carry the identifier (emulators map hashes back through seeded contacts)
    identifier: str
    #: when it happened, parsed from the vendor's wire format (timezone-aware)
    occurred_at: datetime
    #: the vendor's deduplication id as sent (None when the vendor has none)
    event_id: str | None = None
    #: consent / data-processing fields as the vendor holds them
    consent: dict[str, Any] = field(default_factory=dict)


class VirtualClock:
    """A clock tests share between a connector (its sleeps advance time) and an emulator (its
    rate windows read time): waits "happen" without the test taking that long."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class EmulatorOptions:
    """Knobs shared by every emulator (latency in seconds, page cap for tests)."""

    latency: float = 0.0
    max_page_size: int | None = None
    timeout_fault_seconds: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)


class Emulator(ABC):
    """Base of every vendor fake; subclasses add the vendor routes in :meth:`add_routes`.

    ``clock`` returns seconds (Unix-like); rate windows use it. The conformance suite talks to
    an emulator only through the hooks below (seed contacts, read a target's members, …).
    """

    name: ClassVar[str]
    identifier_kind: ClassVar[IdentifierKind] = IdentifierKind.EMAIL
    #: the vendor's per-request cap the emulator enforces (conformance checks it is never hit)
    batch_limit: ClassVar[int]
    #: a fragment of the vendor's message for a contact that does not exist
    unknown_contact_message: ClassVar[str]
    #: in-flight requests allowed before a 429 (None: no concurrency cap)
    max_concurrent: ClassVar[int | None] = None
    #: targets of the upsert service the conformance suite writes records to (one run per spec)
    upsert_specs: ClassVar[tuple[TargetSpec, ...]] = ()
    #: targets of the events service the events suite sends to (one run per spec)
    event_specs: ClassVar[tuple[TargetSpec, ...]] = ()
    #: the vendor refuses raw personal data: the suite scans every body (``testing.pii.scan``)
    requires_hashing: ClassVar[bool] = False

    def __init__(self, *, latency: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        self.options = EmulatorOptions(latency=latency)
        self.clock = clock
        self.requests: deque[RecordedRequest] = deque(maxlen=10_000)
        self.faults: deque[FaultKind] = deque()
        self.faults_after = 0
        self.limit_violations: list[str] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.app = self._build_app()

    # -- vendor behaviour (subclasses) ----------------------------------------------------

    @abstractmethod
    def add_routes(self, app: FastAPI) -> None:
        """Register the vendor's paths."""

    @abstractmethod
    def rate_limited(self) -> Response:
        """The vendor's 429 (body and headers)."""

    @abstractmethod
    def server_error(self) -> Response:
        """The vendor's 500."""

    async def gate(self, request: Request) -> Response | None:
        """Vendor checks before routing (rate windows); a response stops the request."""
        return None

    def response_headers(self) -> dict[str, str]:
        """Headers the vendor puts on every response it routes (rate-limit counters, versions)."""
        return {}

    def state(self) -> dict[str, Any]:
        """What the fake account holds, for ``GET /_emulator/state``."""
        return {}

    # -- conformance hooks ----------------------------------------------------------------

    @abstractmethod
    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        """Make these contacts exist (the vendor requires existing contacts)."""

    @abstractmethod
    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        """A destination config that reaches this emulator at ``base_url`` (bad credentials
        when ``valid`` is false)."""

    @abstractmethod
    def target_spec(self) -> TargetSpec:
        """A target the conformance suite may create and write to."""

    @abstractmethod
    def members(self, target: Target) -> set[str]:
        """Identifiers (as ops carry them) currently in ``target``."""

    @abstractmethod
    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        """Put existing contacts into ``target`` directly (as if done in the vendor's UI)."""

    @abstractmethod
    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        """Create targets of ``spec``'s kind (and parent) directly."""

    def contact_identifier(self, number: int) -> str:
        """The identifier of demo contact ``number`` as the sync engine sends it."""
        return f"user{number}@example.com"

    def invalid_identifier(self) -> str:
        """An identifier the connector must refuse to send."""
        return "not-an-email"

    # -- upsert conformance hooks (emulators whose destination offers the upsert service) -------

    def record_identifier(self, target: Target, number: int) -> str:
        """The identifier of record ``number`` in an upsert target (email or external id)."""
        if target.identifier_kind is IdentifierKind.EMAIL:
            return self.contact_identifier(number)
        return f"ext-{number}"

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        """Mapped fields of record ``number`` the vendor accepts (``version`` changes the values)."""
        raise NotImplementedError(f"{self.name} emulator has no upsert fields")

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        """Records of an upsert target: identifier (as ops carry it) → the mapped fields held."""
        raise NotImplementedError(f"{self.name} emulator has no upsert records")

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        """Fields the vendor refuses for one row (a per-row failure), and a fragment of its message."""
        return None

    # -- events conformance hooks (emulators whose destination offers the events service) -------

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        """Mapped fields of event ``number`` (of contact ``number``) that happened at ``occurred_at``,
        as the sync engine hands them to the connector (the time as a ``datetime``)."""
        raise NotImplementedError(f"{self.name} emulator has no event fields")

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        """Every event of ``target`` the vendor counted (a deduplicated resend is not listed twice)."""
        raise NotImplementedError(f"{self.name} emulator has no events")

    def consent_fields(self, target: Target) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Consent fields to add to an event's fields, and what ``ReceivedEvent.consent`` must then
        hold; None when the vendor's events carry no consent."""
        return None

    # -- helpers for subclasses -----------------------------------------------------------

    @staticmethod
    async def json_body(request: Request) -> Any:
        """The request's JSON body, parsed once at the edge (routes call this, not ``request.json()``)."""
        state = request.scope.get("state") or {}
        return state[PARSED_BODY] if PARSED_BODY in state else await request.json()

    def page_size(self, asked: int, vendor_max: int) -> int:
        """The page size served: the vendor's clamp, and the test cap if one is set."""
        size = min(max(asked, 1), vendor_max)
        return min(size, self.options.max_page_size) if self.options.max_page_size else size

    def violation(self, message: str) -> None:
        """Record that a client broke a vendor limit (the response says so too)."""
        self.limit_violations.append(message)

    def inject(self, kind: FaultKind | str, count: int = 1, *, after: int = 0) -> None:
        """Serve ``count`` faults of ``kind`` to the next requests, once ``after`` more requests
        were served normally."""
        self.faults.extend([FaultKind(kind)] * count)
        self.faults_after = max(after, 0)

    # -- the app --------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(title=f"{self.name} emulator", docs_url=None, redoc_url=None, openapi_url=None)
        app.state.emulator = self
        self._add_inspection_routes(app)
        self.add_routes(app)
        app.add_middleware(_VendorEdge, emulator=self)
        return app

    async def edge(self, scope: Scope, receive: Receive, send: Send, inner: ASGIApp) -> None:
        """Record the request, then serve a fault, a gate's refusal or the vendor route."""
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        request = Request(scope)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        record = RecordedRequest(
            request.method,
            local_path(request),
            dict(request.query_params),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            at=self.clock(),
        )
        self.requests.append(record)
        if raw and not isinstance(body, str):
            scope.setdefault("state", {})[PARSED_BODY] = body
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send_decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
                headers = MutableHeaders(scope=message)
                for name, value in self.response_headers().items():
                    headers[name] = value
            await send(message)

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = 504

        try:
            refusal = await self._refusal(request)
            if refusal is LOST:
                await inner(scope, replay, swallow)
                await Response(b"<html><body>504 Gateway Timeout", status_code=504)(scope, replay, send)
            elif refusal is not None:
                record.status = refusal.status_code
                await refusal(scope, replay, send)
            else:
                await inner(scope, replay, send_decorated)
        finally:
            self.in_flight -= 1

    async def _refusal(self, request: Request) -> Response | None:
        if self.max_concurrent is not None and self.in_flight > self.max_concurrent:
            return self.rate_limited()
        if self.options.latency:
            await asyncio.sleep(self.options.latency)
        if self.faults and self.faults_after > 0:
            self.faults_after -= 1
        elif self.faults:
            fault = self.faults.popleft()
            if fault is FaultKind.RATE_LIMIT:
                return self.rate_limited()
            if fault is FaultKind.SERVER_ERROR:
                return self.server_error()
            if fault is FaultKind.LOST_RESPONSE:
                return LOST
            if fault is FaultKind.TIMEOUT:
                await asyncio.sleep(self.options.timeout_fault_seconds)
                return Response(status_code=504)
            return Response(b"<html><body>502 Bad Gateway", media_type="application/json")
        return await self.gate(request)

    def _add_inspection_routes(self, app: FastAPI) -> None:
        prefix = INSPECTION_PREFIX

        @app.get(f"{prefix}/state")
        def inspect_state() -> dict[str, Any]:
            return {
                "name": self.name,
                "requests": len(self.requests),
                "pending_faults": [str(f) for f in self.faults],
                "latency": self.options.latency,
                "peak_in_flight": self.peak_in_flight,
                "limit_violations": self.limit_violations,
                **self.state(),
            }

        @app.get(f"{prefix}/requests")
        def inspect_requests(limit: int = 100) -> list[dict[str, Any]]:
            return [asdict(r) for r in list(self.requests)[-limit:]]

        @app.post(f"{prefix}/faults")
        async def add_faults(request: Request) -> JSONResponse:
            body = await request.json()
            self.inject(body["kind"], int(body.get("count", 1)), after=int(body.get("after", 0)))
            return JSONResponse({"pending_faults": [str(f) for f in self.faults]})

        @app.post(f"{prefix}/latency")
        async def set_latency(request: Request) -> JSONResponse:
            self.options.latency = float((await request.json())["seconds"])
            return JSONResponse({"latency": self.options.latency})

        @app.post(f"{prefix}/contacts")
        async def add_contacts(request: Request) -> JSONResponse:
            identifiers = list((await request.json())["identifiers"])
            self.seed_contacts(identifiers)
            return JSONResponse({"seeded": len(identifiers)})
