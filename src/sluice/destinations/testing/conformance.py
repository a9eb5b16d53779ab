"""The conformance suite every destination passes against its emulator (BRIEF §5).

Use it from a test module (it is parametrised over every registered destination type)::

    from sluice.destinations.testing import DestinationConformance

    class TestDestinationConformance(DestinationConformance):
        pass

A destination is done when it passes; adding one needs no edit to the suite or the test module.
Capabilities a destination lacks are skipped with the reason it declares, never hidden.
This class covers the membership service; the upsert service has its own suite
(:class:`sluice.destinations.testing.upsert.UpsertConformance`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sluice.destinations import registry
from sluice.destinations.emulation import FaultKind
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, OpKind, Outcome, OutcomeStatus, Service
from sluice.destinations.testing.harness import Harness
from sluice.destinations.testing.pii import scan

#: destinations offering the membership service; upsert-only ones pass ``UpsertConformance``
DESTINATION_TYPES = [
    connector.type_name
    for connector in registry.all_types()
    if Service.MEMBERSHIP in connector.capabilities.services
]


def _statuses(outcomes: list[Outcome]) -> set[str]:
    return {str(o.status) for o in outcomes}


@pytest.mark.anyio
class DestinationConformance:
    """Behaviour every connector + emulator pair must show."""

    @pytest.fixture(params=DESTINATION_TYPES)
    def harness(self, request: pytest.FixtureRequest) -> Harness:
        return Harness.of(str(request.param))

    @pytest.fixture
    async def connector(self, harness: Harness) -> AsyncIterator[Connector]:
        connector = harness.connect()
        yield connector
        await connector.aclose()

    async def test_check_succeeds_with_valid_credentials(self, connector: Connector) -> None:
        assert await connector.check()

    async def test_bad_credentials_raise_config_error(self, harness: Harness) -> None:
        connector = harness.connect(valid=False)
        with pytest.raises(ConfigError):
            await connector.check()
        target = await harness.target(harness.connect())
        with pytest.raises(ConfigError):
            await harness.send(connector, target, OpKind.ADD, harness.contacts(range(2)))
        await connector.aclose()

    async def test_ensure_target_finds_what_it_created(self, harness: Harness, connector: Connector) -> None:
        first = await harness.target(connector)
        again = await harness.target(connector)
        assert first.id == again.id

    async def test_adds_and_removes_are_idempotent(self, harness: Harness, connector: Connector) -> None:
        people = harness.contacts(range(6))
        target = await harness.target(connector)
        for _ in range(2):
            outcomes = await harness.send(connector, target, OpKind.ADD, people)
            assert _statuses(outcomes) == {"delivered"}
            assert harness.emulator.members(target) == set(people)
        for _ in range(2):
            outcomes = await harness.send(connector, target, OpKind.REMOVE, people[:2])
            assert _statuses(outcomes) == {"delivered"}
            assert harness.emulator.members(target) == set(people[2:])

    async def test_no_raw_personal_data_reaches_a_hashing_vendor(
        self, harness: Harness, connector: Connector
    ) -> None:
        """Ad platforms match on hashes: no body or query string carries a raw email or phone."""
        if not harness.emulator.requires_hashing:
            pytest.skip(f"{connector.title} takes identifiers in clear (it does not require hashing)")
        people = harness.contacts(range(5))
        target = await harness.target(connector)
        assert _statuses(await harness.send(connector, target, OpKind.ADD, people)) == {"delivered"}
        assert _statuses(await harness.send(connector, target, OpKind.REMOVE, people[:2])) == {"delivered"}
        found = scan(harness.emulator)
        assert found == [], f"raw personal data sent to {connector.title}: {found[:5]}"

    async def test_unknown_contact_is_rejected_with_the_vendor_message(
        self, harness: Harness, connector: Connector
    ) -> None:
        if not connector.capabilities.rejects_unknown_contacts:
            pytest.skip(
                f"{connector.title} accepts unknown people: {connector.capabilities.unknown_contacts_note}"
            )
        known = harness.contacts(range(3))
        unknown = harness.contacts([900], seed=False)
        target = await harness.target(connector)
        outcomes = await harness.send(connector, target, OpKind.ADD, known + unknown)
        by_identifier = {o.identifier: o for o in outcomes}
        assert len(outcomes) == 4
        assert {by_identifier[i].status for i in known} == {OutcomeStatus.DELIVERED}
        assert by_identifier[unknown[0]].status is OutcomeStatus.REJECTED
        assert harness.emulator.unknown_contact_message in by_identifier[unknown[0]].message
        assert harness.emulator.members(target) == set(known)

    async def test_rate_limit_waits_as_told_and_succeeds(
        self, harness: Harness, connector: Connector
    ) -> None:
        people = harness.contacts(range(3))
        target = await harness.target(connector)
        harness.emulator.inject(FaultKind.RATE_LIMIT, 2)
        outcomes = await harness.send(connector, target, OpKind.ADD, people)
        assert _statuses(outcomes) == {"delivered"}
        assert harness.emulator.members(target) == set(people)
        assert len(harness.clock.slept) >= 2, "the connector must wait before retrying a 429"
        assert [r.status for r in harness.emulator.requests].count(429) == 2

    @pytest.mark.parametrize("fault", [FaultKind.SERVER_ERROR, FaultKind.MALFORMED, FaultKind.TIMEOUT])
    async def test_transient_failures_are_retried(self, harness: Harness, fault: FaultKind) -> None:
        connector = harness.connect(timeout=0.2)
        harness.emulator.options.timeout_fault_seconds = 5.0
        people = harness.contacts(range(3))
        target = await harness.target(connector)
        harness.emulator.inject(fault, 2)
        outcomes = await harness.send(connector, target, OpKind.ADD, people)
        assert _statuses(outcomes) == {"delivered"}
        assert harness.emulator.members(target) == set(people)
        await connector.aclose()

    async def test_exhausted_retries_fail_rows_never_reject_them(
        self, harness: Harness, connector: Connector
    ) -> None:
        people = harness.contacts(range(2))
        target = await harness.target(connector)
        harness.emulator.inject(FaultKind.RATE_LIMIT, 200)
        outcomes = await harness.send(connector, target, OpKind.ADD, people)
        assert len(outcomes) == 2
        assert _statuses(outcomes) == {"failed"}
        assert all(o.message for o in outcomes)

    async def test_batch_limits_are_never_exceeded(self, harness: Harness, connector: Connector) -> None:
        size = connector.capabilities.batch_size
        people = harness.contacts(range(2 * size + 7))
        target = await harness.target(connector)
        outcomes = await harness.send(connector, target, OpKind.ADD, people)
        assert _statuses(outcomes) == {"delivered"}
        assert len(outcomes) == len(people)
        assert harness.emulator.limit_violations == []
        assert harness.emulator.members(target) == set(people)
        assert harness.emulator.batch_limit >= size

    async def test_invalid_identifiers_are_never_sent(self, harness: Harness, connector: Connector) -> None:
        bad = harness.emulator.invalid_identifier()
        target = await harness.target(connector)
        before = len(harness.emulator.requests)
        outcomes = await harness.send(connector, target, OpKind.ADD, [bad])
        assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED]
        assert outcomes[0].message.startswith("not sent")
        assert len(harness.emulator.requests) == before

    async def test_list_targets_is_complete_across_pages(
        self, harness: Harness, connector: Connector
    ) -> None:
        harness.emulator.options.max_page_size = 3
        names = {f"picker target {n}" for n in range(8)}
        spec = harness.emulator.target_spec()
        harness.emulator.seed_targets(sorted(names), spec)
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(50):
            page = await connector.list_targets(spec.kind, cursor)
            seen.extend(target.name for target in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert names <= set(seen)
        assert len(seen) == len(set(seen)), "pages must not repeat targets"

    async def test_read_members_is_complete_across_pages(
        self, harness: Harness, connector: Connector
    ) -> None:
        if not connector.capabilities.can_read_members:
            pytest.skip(f"{connector.title} cannot read members: {connector.capabilities.read_members_note}")
        harness.emulator.options.max_page_size = 5
        people = harness.contacts(range(23))
        target = await harness.target(connector)
        harness.emulator.seed_members(target, people)
        members = [member async for member in connector.read_members(target)]
        assert sorted(members) == sorted(people)
