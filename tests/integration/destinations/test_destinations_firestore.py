"""Firestore beyond the shared suites: typed values, merge masks, deletion, the service-account token
flow and the emulator bypass — as a user of the destination would see them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, Outcome, Target, TargetSpec
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio

CUSTOMERS = TargetSpec("collection", "customers", identifier_kind=IdentifierKind.EXTERNAL_ID)


async def target(connector: Connector, spec: TargetSpec) -> Target:
    return dataclasses.replace(await connector.ensure_target(spec), identifier_kind=spec.identifier_kind)


async def send(connector: Connector, where: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, where, ops)]


async def test_firestore_documents_get_typed_values_and_keep_fields_sluice_does_not_map() -> None:
    harness = Harness.of("firestore")
    connector = harness.connect()
    customers = await target(connector, CUSTOMERS)
    harness.emulator.collections["customers"] = {"c-1": {"loyalty_tier": "gold"}}  # type: ignore[attr-defined]
    signed_up = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    fields = {"name": "Ann", "orders": 3, "spent": 10.5, "vip": True, "signed_up": signed_up, "tags": ["a"]}
    outcomes = await send(connector, customers, [Op(OpKind.UPSERT, "1", "c-1", fields)])
    assert [str(o.status) for o in outcomes] == ["delivered"]
    write = harness.emulator.requests[-1].body["writes"][0]
    assert write["update"]["name"] == "projects/sluice-demo/databases/(default)/documents/customers/c-1"
    assert write["update"]["fields"]["orders"] == {"integerValue": "3"}
    assert write["update"]["fields"]["signed_up"] == {"timestampValue": "2026-11-30T10:00:00Z"}
    assert write["update"]["fields"]["tags"] == {"arrayValue": {"values": [{"stringValue": "a"}]}}
    assert sorted(write["updateMask"]["fieldPaths"]) == sorted(fields)
    record = harness.emulator.records(customers)["c-1"]
    assert record["loyalty_tier"] == "gold", "a field Sluice does not map must stay"
    assert record["orders"] == 3
    assert record["signed_up"] == "2026-11-30T10:00:00Z"
    await connector.aclose()


async def test_firestore_delete_on_removal_and_membership_documents_per_member() -> None:
    harness = Harness.of("firestore")
    connector = harness.connect()
    customers = await target(connector, CUSTOMERS)
    await send(connector, customers, [Op(OpKind.UPSERT, k, k, {"name": k}) for k in ("a", "b")])
    await send(connector, customers, [Op(OpKind.DELETE, "a", "a")])
    assert set(harness.emulator.records(customers)) == {"b"}
    audience = await target(
        connector, TargetSpec("audience", "vip_audience", identifier_kind=IdentifierKind.EMAIL)
    )
    await send(connector, audience, [Op(OpKind.ADD, str(n), f"u{n}@example.com") for n in range(3)])
    assert harness.emulator.records(audience)["u1@example.com"] == {"member": "u1@example.com"}
    await send(connector, audience, [Op(OpKind.REMOVE, "0", "u0@example.com")])
    assert sorted([m async for m in connector.read_members(audience)]) == ["u1@example.com", "u2@example.com"]
    listed = {t.name for t in (await connector.list_targets("collection")).items}
    assert {"customers", "vip_audience"} <= listed
    await connector.aclose()


async def test_firestore_ids_that_cannot_be_document_ids_are_never_sent() -> None:
    harness = Harness.of("firestore")
    connector = harness.connect()
    customers = await target(connector, CUSTOMERS)
    before = len(harness.emulator.requests)
    outcomes = await send(
        connector,
        customers,
        [Op(OpKind.UPSERT, "1", "shop/1", {"x": 1}), Op(OpKind.UPSERT, "2", "__id__", {})],
    )
    assert [o.message for o in outcomes] == [
        "not sent: an id cannot contain a forward slash (/)",
        "not sent: ids matching __.*__ are reserved",
    ]
    assert len(harness.emulator.requests) == before
    with pytest.raises(ConfigError, match="odd number of segments"):
        await connector.ensure_target(TargetSpec("collection", "shops/eu"))
    await connector.aclose()


async def test_firestore_token_is_fetched_once_and_a_foreign_key_is_refused_with_googles_words() -> None:
    harness = Harness.of("firestore")
    connector = harness.connect()
    customers = await target(connector, CUSTOMERS)
    for n in range(3):
        await send(connector, customers, [Op(OpKind.UPSERT, str(n), f"c-{n}", {"n": n})])
    token_requests = [r for r in harness.emulator.requests if r.path == "/token"]
    assert len(token_requests) == 1
    assert token_requests[0].body is not None
    assert "assertion=" in str(token_requests[0].body)
    stranger = harness.connect(valid=False)
    with pytest.raises(ConfigError, match="Invalid JWT Signature"):
        await stranger.check()
    await connector.aclose()
    await stranger.aclose()


async def test_firestore_emulator_mode_sends_bearer_owner_without_oauth() -> None:
    harness = Harness.of("firestore")
    config = {"project_id": "sluice-demo", "emulator": True, "base_url": "http://emulator.test/v1"}
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app))
    connector = harness.connector_class.connect(config, http_client=client)
    assert "sluice-demo" in await connector.check()
    assert harness.emulator.requests[-1].headers["authorization"] == "Bearer owner"
    assert not [r for r in harness.emulator.requests if r.path == "/token"]
    with pytest.raises(ValueError, match="service account key is required"):
        harness.connector_class.config_model.model_validate({"project_id": "sluice-demo"})
    await connector.aclose()
    await client.aclose()


async def test_firestore_document_ids_can_come_from_the_primary_key() -> None:
    harness = Harness.of("firestore")
    config = {**harness.emulator.connector_config("http://emulator.test"), "document_id_from": "primary_key"}
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app))
    connector = harness.connector_class.connect(config, http_client=client)
    customers = await target(connector, CUSTOMERS)
    await send(
        connector, customers, [Op(OpKind.UPSERT, "42", "ann@example.com", {"email": "ann@example.com"})]
    )
    assert harness.emulator.records(customers) == {"42": {"email": "ann@example.com"}}
    audience = await target(
        connector, TargetSpec("audience", "vips", identifier_kind=IdentifierKind.EXTERNAL_ID)
    )
    await send(connector, audience, [Op(OpKind.ADD, "42", "ext-42")])
    assert [m async for m in connector.read_members(audience)] == ["ext-42"], (
        "members stay keyed by identifier"
    )
    await connector.aclose()
    await client.aclose()


async def test_firestore_write_lost_to_contention_fails_for_a_retry_and_the_rest_are_applied() -> None:
    harness = Harness.of("firestore")
    connector = harness.connect()
    customers = await target(connector, CUSTOMERS)
    harness.emulator.contended.add(  # type: ignore[attr-defined]
        "projects/sluice-demo/databases/(default)/documents/customers/c-2"
    )
    ops = [Op(OpKind.UPSERT, str(n), f"c-{n}", {"n": n}) for n in range(1, 4)]
    outcomes = {o.identifier: o for o in await send(connector, customers, ops)}
    assert str(outcomes["c-2"].status) == "failed"
    assert outcomes["c-2"].message == "ABORTED: Too much contention on these documents. Please try again."
    assert {str(outcomes[i].status) for i in ("c-1", "c-3")} == {"delivered"}
    assert set(harness.emulator.records(customers)) == {"c-1", "c-3"}
    await connector.aclose()


async def test_firestore_rows_naming_one_document_are_merged_into_one_write() -> None:
    harness = Harness.of("firestore")
    connector = harness.connect()
    customers = await target(connector, CUSTOMERS)
    ops = [
        Op(OpKind.UPSERT, "1", "c-1", {"name": "Ann", "city": "Lyon"}),
        Op(OpKind.UPSERT, "2", "c-2", {"name": "Bob"}),
        Op(OpKind.UPSERT, "3", "c-1", {"name": "Anne", "city": None}),
    ]
    outcomes = await send(connector, customers, ops)
    assert [str(o.status) for o in outcomes] == ["delivered"] * 3
    assert len(harness.emulator.requests[-1].body["writes"]) == 2
    assert harness.emulator.records(customers) == {"c-1": {"name": "Anne"}, "c-2": {"name": "Bob"}}
    await connector.aclose()
