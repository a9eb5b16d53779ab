"""Every request a connector sends is valid against the vendor's published OpenAPI document.

The documents are test data in ``../shared/vendor-specs/`` (never copied into the repository); the
test skips with the reason when they are absent. Each connector runs its whole repertoire
(check, pickers, create target, add, remove, read members) against its emulator while a
transport records the requests, which are then rewritten to the vendor's server URL and validated
with openapi-core. Voyado publishes no OpenAPI document, so it is not covered here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathNotFound
from starlette.datastructures import Headers, QueryParams

from sluice.destinations.delivery import deliver
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, TargetSpec
from sluice.destinations.testing import Harness

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "vendor-specs"
VENDORS = {
    # destination: (spec file, vendor server the emulator stands in for)
    "mailchimp": ("mailchimp-marketing.openapi.json", "https://server.api.mailchimp.com"),
    "intercom": ("intercom-2.14.openapi.yaml", "https://api.intercom.io"),
    # one document per API area: a request is checked against the one that has its path
    "sendgrid": (
        "sendgrid-mc-contacts-v3.openapi.json",
        "https://api.sendgrid.com",
        "sendgrid-mc-lists-v3.openapi.json",
        "sendgrid-mc-custom_fields-v3.openapi.json",
    ),
    "pinterest": ("pinterest-v5.openapi.json", "https://api.pinterest.com/v5"),
}
#: requests to the vendor's storage host (download links it hands out), not to its API
DOWNLOAD_PATH = re.compile(r"^/_files/")

#: Operations whose published ``oneOf`` is ambiguous (a body matching one branch also matches a
#: looser one, so strict ``oneOf`` refuses even the vendor's own example). These bodies are checked
#: against the one branch the vendor's prose documents for the call.
AMBIGUOUS_ONE_OF = {("intercom", "POST", "/tags"): "tag_multiple_users_request"}

#: Where the published document contradicts the vendor's prose reference (we follow the prose,
#: see the destination's README): (destination, method, path pattern, error fragment) → a check
#: of what the prose documents instead.
MEMBER_PATH = re.compile(r"^/3\.0/lists/[^/]+/members/[0-9a-f]{32}$")


def merge_fields_are_scalars(body: dict[str, Any]) -> bool:
    """Mailchimp's merge-field reference: values are strings or numbers (the sanitised copy says objects)."""
    return all(isinstance(v, str | int | float) for v in body.get("merge_fields", {}).values())


DOCUMENT_DEFECTS = [("mailchimp", "PATCH", MEMBER_PATH, "is not of type 'object'", merge_fields_are_scalars)]

pytestmark = pytest.mark.anyio


@dataclass
class VendorRequest:
    """A recorded request in the shape openapi-core validates."""

    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None


class Recording(httpx.AsyncBaseTransport):
    """Passes requests to the emulator and keeps a copy of each."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@cache
def vendor_specs(destination: str) -> list[OpenAPI]:
    file_name, _, *more = VENDORS[destination]
    # Intercom's document has an unresolvable path parameter elsewhere; check requests, not the document
    return [
        OpenAPI.from_file_path(str(SPECS / name), config=Config(spec_validator_cls=None))
        for name in (file_name, *more)
    ]


def validate_request(destination: str, request: VendorRequest) -> None:
    """Validate against the vendor document that describes the request's path."""
    missing: Exception | None = None
    for spec in vendor_specs(destination):
        try:
            spec.validate_request(request)
            return
        except PathNotFound as exc:
            missing = exc
    assert missing is not None
    raise missing


@cache
def component_schemas(destination: str) -> dict[str, Any]:
    document = SPECS / VENDORS[destination][0]
    loaded = (
        json.loads(document.read_text())
        if document.suffix == ".json"
        else yaml.safe_load(document.read_text())
    )
    return dict(loaded["components"]["schemas"])


def as_vendor_request(request: httpx.Request, server: str) -> VendorRequest:
    return VendorRequest(
        host_url=server,
        path=request.url.path,
        method=request.method.lower(),
        parameters=RequestParameters(
            query=QueryParams(request.url.query.decode()),
            header=Headers(headers=dict(request.headers.items())),
            cookie={},
        ),
        content_type=request.headers.get("content-type", "application/octet-stream"),
        body=request.content or None,
    )


@pytest.fixture(params=list(VENDORS))
def recorded(request: pytest.FixtureRequest) -> tuple[str, Harness, Recording]:
    destination = str(request.param)
    if not (SPECS / VENDORS[destination][0]).exists():
        pytest.skip(f"vendor OpenAPI document {VENDORS[destination][0]} not found in {SPECS}")
    harness = Harness.of(destination)
    return destination, harness, Recording(httpx.ASGITransport(app=harness.emulator.app))


def connect(harness: Harness, recording: Recording) -> Connector:
    recording.inner = httpx.ASGITransport(app=harness.emulator.app)
    config = harness.emulator.connector_config("http://emulator.test")
    connector = harness.connector_class.connect(config, http_client=httpx.AsyncClient(transport=recording))
    connector.http.sleep = harness.clock.sleep
    connector.http.clock = harness.clock
    return connector


async def exercise(harness: Harness, connector: Connector) -> None:
    """Everything the connector does in a membership activation's life."""
    await connector.check()
    spec = harness.emulator.target_spec()
    await connector.list_targets(spec.kind)
    people = harness.contacts(range(12))
    strangers = harness.contacts([500], seed=False)
    target = dataclasses.replace(await connector.ensure_target(spec), identifier_kind=IdentifierKind.EMAIL)
    await connector.ensure_target(dataclasses.replace(spec, id=target.id))
    await harness.send(connector, target, OpKind.ADD, people + strangers)
    await harness.send(connector, target, OpKind.REMOVE, people[:3] + strangers)
    if connector.capabilities.can_read_members:
        assert len([m async for m in connector.read_members(target)]) == 9
    if connector.capabilities.can_read_members or type(connector).reset_target is not Connector.reset_target:
        await connector.reset_target(target)  # as the sync engine's full refresh does
    for upsert_spec in harness.emulator.upsert_specs:  # the upsert service's targets
        records = dataclasses.replace(
            await connector.ensure_target(upsert_spec), identifier_kind=upsert_spec.identifier_kind
        )
        ops = [
            Op(OpKind.UPSERT, f"k{n}", harness.emulator.record_identifier(records, n), fields)
            for n in range(3)
            if (fields := harness.emulator.upsert_fields(records, n))
        ]
        ops += [Op(OpKind.CLEAR, "k0", ops[0].identifier, dict.fromkeys(ops[0].fields))]
        assert len([o async for o in deliver(connector, records, ops)]) == 4
    if "audience" in connector.capabilities.target_kinds:  # Mailchimp's upsert service
        audience = await connector.ensure_target(TargetSpec("audience"))
        ops = [Op(OpKind.UPSERT, p, p, {"FNAME": "Ann"}) for p in people[:3]] + [
            Op(OpKind.DELETE, "k", people[4])
        ]
        assert len([o async for o in deliver(connector, audience, ops)]) == 4


async def test_connector_requests_match_the_vendor_openapi_document(
    recorded: tuple[str, Harness, Recording],
) -> None:
    destination, harness, recording = recorded
    connector = connect(harness, recording)
    await exercise(harness, connector)
    await connector.aclose()
    server = VENDORS[destination][1]
    problems: list[str] = []
    for request in recording.requests:
        path = request.url.path
        if DOWNLOAD_PATH.match(path):
            continue
        try:
            validate_request(destination, as_vendor_request(request, server))
        except Exception as exc:  # collect every mismatch, then report them together
            branch = AMBIGUOUS_ONE_OF.get((destination, request.method, path))
            if branch and "is valid under each of" in _cause(exc):
                schemas = yaml.safe_load((SPECS / VENDORS[destination][0]).read_text())["components"][
                    "schemas"
                ]
                jsonschema.validate(json.loads(request.content), schemas[branch])
                continue
            if any(
                d == destination
                and m == request.method
                and p.match(path)
                and f in _cause(exc)
                and ok(json.loads(request.content))
                for d, m, p, f, ok in DOCUMENT_DEFECTS
            ):
                continue
            problems.append(f"{request.method} {path}: {type(exc).__name__}: {_cause(exc)}")
    assert len(recording.requests) > 5
    assert not problems, "\n".join(problems)


def _cause(exc: BaseException) -> str:
    details = [str(exc)]
    for inner in getattr(exc, "schema_errors", None) or []:
        details.append(getattr(inner, "message", str(inner)))
    if exc.__cause__ is not None:
        details.append(str(exc.__cause__))
    return " | ".join(details)
