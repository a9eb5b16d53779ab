"""TikTok: custom audiences are updated with uploaded files of SHA-256 digests (APPEND/REMOVE),
the 1,000-member floor is reported with TikTok's words, and Events API conversions carry hashed
user fields, the row key as event_id and Unix-second times.

The membership conformance suite runs again for TikTok with every received body (multipart
fields and file lines included) scanned; ``TestEventsConformance`` covers the events service.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import TIKTOK, PiiField, hash_value, sha256_hex, unmatchable_digest
from sluice.destinations.sdk import IdentifierKind, Op, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import multipart_fields, scan
from sluice.destinations.tiktok.emulator import ACCESS_TOKEN, ADVERTISER_ID, TikTokEmulator


class TestTikTokConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, TikTok only, with every received body scanned."""

    @pytest.fixture(params=["tiktok"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def uploads(harness: Harness) -> list[dict[str, object]]:
    return [
        multipart_fields(str(r.body), r.headers["content-type"]) or {}
        for r in harness.emulator.requests
        if r.path.endswith("/file/upload/")
    ]


@pytest.mark.anyio
async def test_members_go_up_as_signed_files_applied_with_append_and_remove() -> None:
    harness = Harness.of("tiktok")
    connector = harness.connect()
    target = await harness.target(connector)
    created = uploads(harness)[0]
    assert created["file"] == [unmatchable_digest()], (
        "a new audience starts from a digest that matches no one"
    )
    people = harness.contacts(range(3))
    outcomes = await harness.send(connector, target, OpKind.ADD, people)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    upload = uploads(harness)[-1]
    content = "\n".join(sha256_hex(p) for p in people).encode()
    assert upload == {
        "advertiser_id": ADVERTISER_ID,
        "calculate_type": "EMAIL_SHA256",
        "file_signature": hashlib.md5(content).hexdigest(),
        "file": [sha256_hex(p) for p in people],
    }
    await harness.send(connector, target, OpKind.REMOVE, people[:1])
    updates = [r.body for r in harness.emulator.requests if r.path.endswith("/custom_audience/update/")]
    assert [u["action"] for u in updates] == ["APPEND", "REMOVE"]
    assert harness.emulator.members(target) == set(people[1:])
    listed = (await connector.list_targets("custom_audience")).items
    assert [t.size for t in listed] == [2], "cover_num (matched people) is the audience size"
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_phone_audiences_hash_e164_with_the_plus() -> None:
    assert hash_value(PiiField.PHONE, "(650) 555-1212", TIKTOK) == sha256_hex("+16505551212")
    harness = Harness.of("tiktok")
    connector = harness.connect()
    spec = dataclasses.replace(
        harness.emulator.target_spec(), name="phones", identifier_kind=IdentifierKind.PHONE
    )
    target = await connector.ensure_target(spec)
    outcomes = await harness.send(connector, target, OpKind.ADD, ["+44 20 7946 0958", "12"])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.DELIVERED]
    upload = uploads(harness)[-1]
    assert upload["calculate_type"] == "PHONE_SHA256"
    assert upload["file"] == [sha256_hex("+442079460958")]
    await connector.aclose()


@pytest.mark.anyio
async def test_the_thousand_member_floor_rejects_the_batch_once_with_tiktoks_words() -> None:
    harness = Harness.of("tiktok")
    assert isinstance(harness.emulator, TikTokEmulator)
    harness.emulator.min_audience_size = 1000
    connector = harness.connect()
    target = await harness.target(connector)
    before = len(harness.emulator.requests)
    outcomes = await harness.send(connector, target, OpKind.ADD, harness.contacts(range(20)))
    assert {o.status for o in outcomes} == {OutcomeStatus.REJECTED}
    assert all("at least 1,000" in o.message for o in outcomes)
    assert len(harness.emulator.requests) == before + 2, "one upload and one update, not split row by row"
    harness.emulator.seed_members(target, harness.contacts(range(20, 1020)))
    outcomes = await harness.send(connector, target, OpKind.ADD, harness.contacts(range(3)))
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    await connector.aclose()


@pytest.mark.anyio
async def test_conversions_carry_hashed_users_the_row_key_and_unix_seconds() -> None:
    harness = Harness.of("tiktok")
    connector = harness.connect()
    target = await connector.ensure_target(TargetSpec("event", "CompletePayment"))
    moment = datetime.fromtimestamp(harness.clock() - 600, UTC)
    people = harness.contacts(range(2))
    ops = [
        Op(OpKind.EVENT, f"order-{n}", p, {"time": moment, "value": "19.90", "currency": "EUR"})
        for n, p in enumerate(people)
    ]
    assert {o.status async for o in deliver(connector, target, ops)} == {OutcomeStatus.DELIVERED}
    body = harness.emulator.requests[-1].body
    assert body["event_source"] == "web"
    assert body["event_source_id"] == harness.emulator.connector_config(EMULATOR_URL)["pixel_code"]
    assert body["data"][0] == {
        "event": "CompletePayment",
        "event_time": int(moment.timestamp()),
        "event_id": "order-0",
        "user": {"email": sha256_hex("user0@example.com")},
        "properties": {"value": 19.9, "currency": "EUR"},
    }
    await connector.aclose()
    test_config = {**harness.emulator.connector_config(EMULATOR_URL), "test_event_code": "TEST123"}
    tester = harness.connector_class.connect(
        test_config, http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app))
    )
    tester.http.clock = harness.clock
    more = [dataclasses.replace(op, key=f"test-{op.key}") for op in ops]
    assert {o.status async for o in deliver(tester, target, more)} == {OutcomeStatus.DELIVERED}
    await tester.aclose()
    assert harness.emulator.state()["test_events"] == 2
    assert len(harness.emulator.received_events(target)) == 2, "test events are not counted"
    no_pixel = {**harness.emulator.connector_config(EMULATOR_URL), "pixel_code": None}
    with pytest.raises(ConfigError, match="pixel code"):
        await harness.connector_class.connect(no_pixel).ensure_target(TargetSpec("event", "Purchase"))


@pytest.mark.anyio
async def test_the_emulator_refuses_raw_files_bad_signatures_and_bad_tokens() -> None:
    harness = Harness.of("tiktok")
    path = "/open_api/v1.3/dmp/custom_audience/file/upload/"
    raw = b"person@example.com\n"
    form = {"advertiser_id": ADVERTISER_ID, "calculate_type": "EMAIL_SHA256"}
    transport = httpx.ASGITransport(app=harness.emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        headers = {"Access-Token": ACCESS_TOKEN}
        signed = {**form, "file_signature": hashlib.md5(raw).hexdigest()}
        refused = await client.post(path, data=signed, files={"file": ("a.txt", raw)}, headers=headers)
        assert refused.json()["code"] == 40002
        assert "SHA-256" in refused.json()["message"]
        digest = sha256_hex("x").encode()
        unsigned = {**form, "file_signature": "0" * 32}
        refused = await client.post(path, data=unsigned, files={"file": ("a.txt", digest)}, headers=headers)
        assert "file_signature" in refused.json()["message"]
        anonymous = await client.get(
            "/open_api/v1.3/dmp/custom_audience/list/", params={"advertiser_id": ADVERTISER_ID}
        )
        assert anonymous.json()["code"] == 40104
    assert harness.emulator.limit_violations == ["unhashed value in EMAIL_SHA256 file"]
