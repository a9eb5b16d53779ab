"""Klaviyo and Brevo requests, for every service they offer, are valid against the vendors' OpenAPI documents.

The documents live in ``../shared/vendor-specs/`` (test data, never copied into the repository); each test
skips with the reason when its document is absent. Each connector runs membership, upsert (with clear,
and the import job polling) and — for Klaviyo — consent against its emulator while a transport records
the requests; every recorded request is then validated with openapi-core against the vendor's server URL.
"""

from __future__ import annotations

import dataclasses
import json
import re
from functools import cache
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from starlette.datastructures import Headers, QueryParams

from sluice.destinations.delivery import deliver
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, TargetSpec
from sluice.destinations.testing import Harness

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "vendor-specs"
VENDORS = {
    "klaviyo": ("klaviyo-stable.openapi.json", "https://a.klaviyo.com"),
    "brevo": ("brevo-v3.openapi.yaml", "https://api.brevo.com/v3"),
}
#: the emulator's path prefix standing in for the vendor server's base path
PREFIX = {"klaviyo": "", "brevo": "/v3"}

#: Brevo's ``oneOf`` branches (emails / ids / extIds / all) do not exclude each other, so a body matching one
#: matches all and strict ``oneOf`` refuses even the vendor's own example: such bodies are checked against
#: the branch the prose reference documents for the identifier sent.
AMBIGUOUS_ONE_OF = {
    ("brevo", re.compile(r"/contacts/lists/\d+/contacts/add$")): {
        "emails": "addContactToListByEmails",
        "ids": "addContactToListByIDs",
        "extIds": "addContactToListByExtIDs",
    },
    ("brevo", re.compile(r"/contacts/lists/\d+/contacts/remove$")): {
        "emails": "removeContactFromListByEmails",
        "ids": "removeContactFromListByIDs",
        "extIds": "removeContactFromListByExtIDs",
    },
}

pytestmark = pytest.mark.anyio


class _NoTimestamps(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Brevo's document has dates YAML would turn into (invalid) datetimes; keep them as text."""


_NoTimestamps.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@cache
def component_schemas(destination: str) -> dict[str, object]:
    document = SPECS / VENDORS[destination][0]
    if document.suffix == ".json":
        return dict(json.loads(document.read_text())["components"]["schemas"])
    return dict(yaml.load(document.read_text(), Loader=_NoTimestamps)["components"]["schemas"])


def documented_branch_holds(destination: str, request: httpx.Request, error: str) -> bool:
    """For an ambiguous ``oneOf``: the body is valid under the branch documented for its identifier."""
    if "is valid under each of" not in error:
        return False
    for (vendor, pattern), branches in AMBIGUOUS_ONE_OF.items():
        if vendor == destination and pattern.search(request.url.path):
            body = json.loads(request.content)
            branch = next((branches[key] for key in body if key in branches), None)
            if branch is None:
                return False
            schemas = component_schemas(destination)
            jsonschema.Draft7Validator(
                {**dict(schemas[branch]), "components": {"schemas": schemas}}
            ).validate(body)  # type: ignore[arg-type]
            return True
    return False


@dataclasses.dataclass
class VendorRequest:
    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@cache
def vendor_spec(destination: str) -> OpenAPI:
    return OpenAPI.from_file_path(
        str(SPECS / VENDORS[destination][0]), config=Config(spec_validator_cls=None)
    )


def as_vendor_request(destination: str, request: httpx.Request) -> VendorRequest:
    server = VENDORS[destination][1]
    path = request.url.path[len(PREFIX[destination]) :]
    return VendorRequest(
        host_url=server,
        path=f"{httpx.URL(server).path.rstrip('/')}{path}",
        method=request.method.lower(),
        parameters=RequestParameters(
            query=QueryParams(request.url.query.decode()),
            header=Headers(headers=dict(request.headers.items())),
            cookie={},
        ),
        content_type=request.headers.get("content-type", "application/octet-stream"),
        body=request.content or None,
    )


def connect(harness: Harness, recording: Recording) -> Connector:
    config = harness.emulator.connector_config("http://emulator.test")
    connector = harness.connector_class.connect(config, http_client=httpx.AsyncClient(transport=recording))
    connector.http.sleep = harness.clock.sleep
    connector.http.clock = harness.clock
    return connector


async def exercise(destination: str, harness: Harness, connector: Connector) -> None:
    """Every service's calls: check, pickers, list create/find, add/remove (with strangers), read
    members, upsert + clear through the async job, consent set/revert."""
    await connector.check()
    spec = harness.emulator.target_spec()
    await connector.list_targets(spec.kind)
    people = harness.contacts(range(8))
    strangers = harness.contacts([500], seed=False)
    target = dataclasses.replace(await connector.ensure_target(spec), identifier_kind=IdentifierKind.EMAIL)
    await connector.ensure_target(dataclasses.replace(spec, id=target.id))
    await harness.send(connector, target, OpKind.ADD, people + strangers)
    await harness.send(connector, target, OpKind.ADD, people[:2])  # already members
    await harness.send(connector, target, OpKind.REMOVE, people[:3] + strangers)
    assert len([m async for m in connector.read_members(target)]) == 5
    records = harness.emulator.upsert_specs[0]
    upsert_target = dataclasses.replace(
        await connector.ensure_target(records), identifier_kind=records.identifier_kind
    )
    fields = harness.emulator.upsert_fields(upsert_target, 1)
    ops = [
        Op(OpKind.UPSERT, f"k{n}", harness.emulator.record_identifier(upsert_target, n), fields)
        for n in range(4)
    ]
    ops += [Op(OpKind.CLEAR, "k9", ops[0].identifier, dict.fromkeys(fields))]
    assert {o.status for o in [o async for o in deliver(connector, upsert_target, ops)]} == {"delivered"}
    if destination == "klaviyo":
        consent = dataclasses.replace(
            await connector.ensure_target(TargetSpec("subscription", id=target.id)),
            identifier_kind=IdentifierKind.EMAIL,
        )
        for kind in (OpKind.CONSENT_SET, OpKind.CONSENT_REVERT):
            sent = [o async for o in deliver(connector, consent, [Op(kind, p, p) for p in people[:3]])]
            assert {o.status for o in sent} == {"delivered"}


@pytest.mark.parametrize("destination", list(VENDORS))
async def test_every_request_matches_the_vendor_openapi_document(destination: str) -> None:
    if not (SPECS / VENDORS[destination][0]).exists():
        pytest.skip(f"vendor OpenAPI document {VENDORS[destination][0]} not found in {SPECS}")
    harness = Harness.of(destination)
    if destination == "brevo":  # Brevo's 10 requests/s would pace this test in real time
        harness.emulator.limit_per_window = 100  # type: ignore[attr-defined]
    recording = Recording(httpx.ASGITransport(app=harness.emulator.app))
    connector = connect(harness, recording)
    await exercise(destination, harness, connector)
    await connector.aclose()
    spec = vendor_spec(destination)
    problems = []
    for request in recording.requests:
        try:
            spec.validate_request(as_vendor_request(destination, request))
        except Exception as exc:  # collect every mismatch, then report them together
            causes = [
                str(exc),
                *(getattr(e, "message", str(e)) for e in getattr(exc, "schema_errors", None) or []),
            ]
            if exc.__cause__ is not None:
                causes.append(str(exc.__cause__))
            if documented_branch_holds(destination, request, " | ".join(causes)):
                continue
            problems.append(f"{request.method} {request.url.path}: {' | '.join(causes)}")
    assert len(recording.requests) > 10
    assert not problems, "\n".join(problems)
