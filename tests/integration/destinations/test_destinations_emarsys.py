"""Emarsys beyond the shared suites: the X-WSSE signature, contact and RDS specifics, reading list
members, and the rate-limit headers — as a user of the destination would see them."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from sluice.destinations.delivery import deliver
from sluice.destinations.emarsys.emulator import SECRET, USERNAME, EmarsysEmulator
from sluice.destinations.emarsys.wsse import WsseAuth
from sluice.destinations.emulation import VirtualClock
from sluice.destinations.emulators import emulators_app
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, Outcome, Target, TargetSpec
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio
WSSE = re.compile(r'(\w+)="([^"]*)"')


async def send(connector: Connector, where: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, where, ops)]


def by_identifier(outcomes: list[Outcome]) -> dict[str, tuple[str, str]]:
    return {o.identifier: (str(o.status), o.message) for o in outcomes}


async def contacts_target(connector: Connector, kind: IdentifierKind = IdentifierKind.EMAIL) -> Target:
    return dataclasses.replace(
        await connector.ensure_target(TargetSpec("contact", identifier_kind=kind)), identifier_kind=kind
    )


async def test_every_request_is_signed_afresh_and_the_secret_never_leaves() -> None:
    harness = Harness.of("emarsys")
    connector = harness.connect()
    people = harness.contacts(range(3))
    target = await harness.target(connector)
    await harness.send(connector, target, OpKind.ADD, people)
    headers = [r.headers["x-wsse"] for r in harness.emulator.requests]
    parts = [dict(WSSE.findall(h)) for h in headers]
    assert len(headers) >= 3
    assert len({p["Nonce"] for p in parts}) == len(parts), "a nonce is never reused"
    for p in parts:
        hexdigest = hashlib.sha1(
            (p["Nonce"] + p["Created"] + SECRET).encode(), usedforsecurity=False
        ).hexdigest()
        assert p["PasswordDigest"] == base64.b64encode(hexdigest.encode()).decode()
        assert p["Username"] == USERNAME
    assert all(SECRET not in str(r.headers) + str(r.body) + str(r.query) for r in harness.emulator.requests)
    await connector.aclose()


async def test_stale_or_replayed_signatures_are_refused() -> None:
    harness = Harness.of("emarsys")
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app), base_url="http://e")
    auth = WsseAuth(USERNAME, SECRET, clock=lambda: harness.clock() - 600)  # ten minutes behind
    stale = await client.get("/v2/settings", headers={"X-WSSE": auth.header()})
    assert stale.status_code == 401
    assert "more than 5 minutes" in stale.json()["replyText"]
    auth.clock = harness.clock
    header = auth.header()
    assert (await client.get("/v2/settings", headers={"X-WSSE": header})).status_code == 200
    replay = await client.get("/v2/settings", headers={"X-WSSE": header})
    assert replay.status_code == 401
    assert "Nonce already used" in replay.json()["replyText"]
    await client.aclose()

    skewed = harness.connect()
    skewed.http.clock = lambda: harness.clock() + 3600  # a server clock an hour off: a config problem
    with pytest.raises(ConfigError, match="Created is more than 5 minutes"):
        await skewed.check()
    await skewed.aclose()


async def test_contacts_are_upserted_1000_per_call_with_field_ids_and_per_contact_errors() -> None:
    harness = Harness.of("emarsys")
    connector = harness.connect()
    target = await contacts_target(connector)
    ops = [
        Op(OpKind.UPSERT, f"k{n}", f"new{n}@example.com", {"first_name": f"N{n}", "loyalty_tier": "gold"})
        for n in range(1005)
    ]
    ops[7] = Op(OpKind.UPSERT, "k7", "new7@example.com", {"birth_date": "7 July"})
    outcomes = by_identifier(await send(connector, target, ops))
    puts = [r for r in harness.emulator.requests if r.method == "PUT"]
    assert [len(r.body["contacts"]) for r in puts] == [1000, 5]
    assert puts[0].query == {"create_if_not_exists": "1"}
    assert puts[0].body["key_id"] == "3"
    assert puts[0].body["contacts"][0] == {"3": "new0@example.com", "1": "N0", "4801": "gold"}
    assert outcomes["new7@example.com"] == ("rejected", "Invalid data format for field ID: 4 (2007)")
    assert {s for i, (s, _) in outcomes.items() if i != "new7@example.com"} == {"delivered"}
    assert isinstance(harness.emulator, EmarsysEmulator)
    assert len(harness.emulator.contacts) == 1004
    await connector.aclose()


async def test_without_create_contacts_unknown_contacts_are_rejected_and_unknown_fields_named() -> None:
    harness = Harness.of("emarsys")
    connector = harness.connect()
    connector.config = connector.config.model_copy(update={"create_contacts": False})
    harness.contacts([1])
    target = await contacts_target(connector)
    ops = [
        Op(OpKind.UPSERT, "a", "user1@example.com", {"first_name": "Ann"}),
        Op(OpKind.UPSERT, "b", "ghost@example.com", {"first_name": "Bo"}),
    ]
    outcomes = by_identifier(await send(connector, target, ops))
    assert outcomes["user1@example.com"][0] == "delivered"
    assert outcomes["ghost@example.com"] == (
        "rejected",
        "No contact found with the external id: 3 - ghost@example.com (2008)",
    )
    assert harness.emulator.requests[-1].query == {"create_if_not_exists": "0"}
    typo = await send(connector, target, [Op(OpKind.UPSERT, "c", "user1@example.com", {"favourite": "x"})])
    assert typo[0].message == "Emarsys has no contact field 'favourite' (GET /v2/field)"
    deleted = await send(connector, target, [Op(OpKind.DELETE, "a", "user1@example.com")])
    assert deleted[0].message.startswith("Sluice does not delete Emarsys contacts")
    await connector.aclose()


async def test_external_id_lists_use_the_configured_key_field_and_members_are_read_in_pages() -> None:
    harness = Harness.of("emarsys")
    connector = harness.connect()
    people = [f"cust-{n}" for n in range(23)]
    harness.emulator.seed_contacts(people)
    spec = TargetSpec("contact_list", "VIP by id", identifier_kind=IdentifierKind.EXTERNAL_ID)
    target = await connector.ensure_target(spec)
    assert target.identifier_kind is IdentifierKind.EXTERNAL_ID
    outcomes = await send(connector, target, [Op(OpKind.ADD, p, p) for p in [*people, "cust-missing"]])
    assert by_identifier(outcomes)["cust-missing"][0] == "rejected"
    adds = [r for r in harness.emulator.requests if r.path.endswith("/add")]
    assert adds[0].body["key_id"] == "4800"
    harness.emulator.options.max_page_size = 5
    members = [m async for m in connector.read_members(target)]
    assert sorted(members) == sorted(people)
    pages = [r for r in harness.emulator.requests if r.path.endswith("/contactIds")]
    assert len(pages) == 5
    assert pages[1].query == {"$skiptoken": "5", "$top": "5"}
    removed = await send(connector, target, [Op(OpKind.REMOVE, "x", "cust-missing")])
    assert removed[0].status == "delivered"
    assert removed[0].message.startswith("nothing to remove")
    await connector.aclose()


async def test_rds_rows_are_upserted_and_removed_by_the_key_column() -> None:
    harness = Harness.of("emarsys")
    connector = harness.connect()
    spec = TargetSpec("rds_table", id="purchases", identifier_kind=IdentifierKind.EXTERNAL_ID)
    target = dataclasses.replace(
        await connector.ensure_target(spec), identifier_kind=IdentifierKind.EXTERNAL_ID
    )
    assert target.parent_id == "sluice_rds", "the connection comes from the destination's config"
    ops = [Op(OpKind.UPSERT, f"k{n}", f"order-{n}", {"product": "tea", "amount": n}) for n in range(3)]
    assert {o.status for o in await send(connector, target, ops)} == {"delivered"}
    upsert = harness.emulator.requests[-1]
    assert upsert.path == "/rds/connections/sluice_rds/tables/purchases/records/upsert"
    assert upsert.body[0] == {"external_id": "order-0", "product": "tea", "amount": 0}
    gone = await send(connector, target, [Op(OpKind.DELETE, "k1", "order-1")])
    assert gone[0].status == "delivered"
    assert harness.emulator.requests[-1].body == [{"external_id": "order-1"}]
    assert set(harness.emulator.records(target)) == {"order-0", "order-2"}
    missing = dataclasses.replace(target, id="no_such_table")
    with pytest.raises(ConfigError, match="Table no_such_table not found"):
        await send(connector, missing, ops[:1])
    await connector.aclose()


async def test_an_exhausted_rate_window_is_waited_out_from_the_headers_without_a_429() -> None:
    clock = VirtualClock()
    harness = Harness(
        Harness.of("emarsys").connector_class, EmarsysEmulator(limit_per_minute=3, clock=clock), clock
    )
    connector = harness.connect()
    start = clock()
    for _ in range(7):
        await connector.check()
    assert [r.status for r in harness.emulator.requests] == [200] * 7
    assert clock() - start >= 120, "two full windows waited (X-RateLimit-Reset), no request refused"
    last = harness.emulator.response_headers()
    assert set(last) == {"X-RateLimit-Limit", "X-Ratelimit-Remaining", "X-RateLimit-Reset"}
    await connector.aclose()


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The Emarsys and Marketing Cloud emulators over real HTTP, mounted as ``sluice destination emulate`` does."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from sluice.destinations.emulators import build_emulators

    base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            emulators_app(build_emulators(["emarsys", "sfmc"]), base),
            host="127.0.0.1",
            port=port,
            log_level="error",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield base
    server.should_exit = True
    thread.join(timeout=5)


def test_the_api_lists_both_types_with_write_only_secrets_and_checks_them(
    client: TestClient, served: str
) -> None:
    types = {t["name"]: t for t in client.get("/api/v1/destination-types").json()}
    assert types["emarsys"]["secret_fields"] == ["secret"]
    assert types["emarsys"]["capabilities"]["services"] == ["membership", "upsert"]
    assert types["sfmc"]["secret_fields"] == ["client_secret"]
    assert types["sfmc"]["activation_defaults"]["target_kind"] == "data_extension"
    assert types["sfmc"]["oauth"] == {
        **types["sfmc"]["oauth"],
        "grant": "client_credentials",
        "connect": False,
    }
    assert types["emarsys"]["oauth"] is None
    emulated = httpx.get(f"{served}/emulators").json()
    for type_name, secret in (("emarsys", "secret"), ("sfmc", "client_secret")):
        config = dict(emulated[type_name]["config"])
        value = config.pop(secret)
        created = client.post(
            "/api/v1/destinations",
            json={"name": type_name, "type": type_name, "config": config, "secrets": {secret: value}},
        ).json()
        assert value not in str(created)
        check = client.post(f"/api/v1/destinations/{created['id']}/check").json()
        assert check["ok"] is True, check
    # the Marketing Cloud picker lists the data extensions of the mounted emulator
    page = client.get(
        f"/api/v1/destinations/{created['id']}/targets", params={"kind": "data_extension"}
    ).json()
    assert {t["id"] for t in page["items"]} >= {"sluice-customers", "sluice-newsletter"}
