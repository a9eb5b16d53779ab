"""The events-service conformance suite (conversions and custom events): every event counted
exactly once across retries, its time in the vendor's format and window, consent passed through,
limits obeyed, invalid people and raw personal data never sent.

Parametrised over every (destination type, event target) pair whose connector offers
``Service.EVENTS``; the emulator declares the targets in ``Emulator.event_specs`` and implements
``event_fields``, ``received_events`` and (when its events carry consent) ``consent_fields``. Use it
from a test module like :class:`DestinationConformance`::

    class TestEventsConformance(EventsConformance):
        pass

An event op is ``Op(OpKind.EVENT, key=<event id>, identifier=<person>, fields=<mapped fields>)``:
the op key is the model's primary key, so it is the id a vendor deduplicates on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from sluice.destinations.emulation import FaultKind, ReceivedEvent
from sluice.destinations.sdk import Connector, Op, OpKind, OutcomeStatus, Service, Target
from sluice.destinations.testing.pii import scan
from sluice.destinations.testing.targets import TargetCase, TargetServiceConformance, target_cases
from sluice.destinations.testing.targets import statuses as _statuses

EVENT_CASES = target_cases(Service.EVENTS, "event_specs", required=True)


@dataclasses.dataclass
class EventCase(TargetCase):
    """One destination type's emulator and one of its event targets."""

    specs_attribute = "event_specs"
    #: Unix time each event (by op key) happened, as the suite made it
    times: dict[str, float] = dataclasses.field(default_factory=dict)

    def ops(
        self,
        target: Target,
        numbers: Iterable[int],
        *,
        age: float = 3600.0,
        extra: dict[str, Any] | None = None,
    ) -> list[Op]:
        """Events of existing contacts ``numbers``, event ``n`` ``age + n`` seconds old."""
        numbers = list(numbers)
        identifiers = self.harness.contacts(numbers)
        ops = []
        for number, identifier in zip(numbers, identifiers, strict=True):
            occurred = datetime.fromtimestamp(int(self.harness.clock() - age - number), UTC)
            self.times[f"evt-{number}"] = occurred.timestamp()
            fields = {**self.harness.emulator.event_fields(target, number, occurred), **(extra or {})}
            ops.append(Op(OpKind.EVENT, f"evt-{number}", identifier, fields))
        return ops

    def counted(self, target: Target) -> dict[str, list[ReceivedEvent]]:
        """Events the vendor counted, by person."""
        by_person: dict[str, list[ReceivedEvent]] = {}
        for event in self.harness.emulator.received_events(target):
            by_person.setdefault(event.identifier, []).append(event)
        return by_person

    def assert_held(self, target: Target, ops: list[Op]) -> None:
        """Each op's event is held exactly once, at its time, under its id (when the vendor keeps one)."""
        counted = self.counted(target)
        for op in ops:
            events = counted.get(op.identifier, [])
            assert len(events) == 1, f"event {op.key} counted {len(events)} times"
            assert abs(events[0].occurred_at.timestamp() - self.times[op.key]) < 1, (
                f"event {op.key}: the vendor holds time {events[0].occurred_at.isoformat()}"
            )
            assert events[0].event_id in (None, op.key), "the event id must be the op key (the row's key)"


class EventsConformance(TargetServiceConformance):
    """Behaviour every events service + emulator pair must show (beside the shared tests, where
    "held" means counted exactly once, at its time)."""

    @pytest.fixture(params=EVENT_CASES)
    def case(self, request: pytest.FixtureRequest) -> EventCase:
        return EventCase.of(request.param)

    async def test_events_are_counted_once_at_their_time(self, case: EventCase, connector: Connector) -> None:
        target = await case.target(connector)
        ops = case.ops(target, range(5))
        assert _statuses(await case.send(connector, target, ops)) == {"delivered"}
        case.assert_held(target, ops)
        assert case.harness.emulator.limit_violations == []

    async def test_a_resent_event_id_is_counted_once(self, case: EventCase, connector: Connector) -> None:
        if not connector.capabilities.deduplicates_events:
            pytest.skip(
                f"{connector.title} does not deduplicate events: {connector.capabilities.event_dedupe_note}"
            )
        target = await case.target(connector)
        ops = case.ops(target, range(4))
        before = len(case.harness.emulator.requests)
        case.harness.emulator.inject(FaultKind.LOST_RESPONSE, 1)
        assert _statuses(await case.send(connector, target, ops)) == {"delivered"}
        sent = list(case.harness.emulator.requests)[before:]
        assert [r.status for r in sent][:1] == [504], "the vendor acted on the request, its answer was lost"
        assert len(sent) == 2
        assert sent[0].body == sent[1].body, "the retry resends the same event ids"
        case.assert_held(target, ops)
        # a later run that resends (e.g. after a crash before the snapshot was saved) is absorbed too
        assert _statuses(await case.send(connector, target, ops)) == {"delivered"}
        case.assert_held(target, ops)

    async def test_events_older_than_the_window_are_not_sent(
        self, case: EventCase, connector: Connector
    ) -> None:
        window = connector.capabilities.event_max_age
        if window is None:
            pytest.skip(f"{connector.title} declares no event time window")
        target = await case.target(connector)
        fresh = case.ops(target, [1])
        stale = case.ops(target, [2], age=window + 3600)
        before = len(case.harness.emulator.requests)
        outcomes = {o.key: o for o in await case.send(connector, target, [*stale, *fresh])}
        assert outcomes[stale[0].key].status is OutcomeStatus.REJECTED
        assert outcomes[stale[0].key].message.startswith("not sent")
        assert "older than" in outcomes[stale[0].key].message
        assert outcomes[fresh[0].key].status is OutcomeStatus.DELIVERED
        assert len(case.harness.emulator.requests) == before + 1
        assert set(case.counted(target)) == {fresh[0].identifier}

    async def test_consent_fields_are_passed_through(self, case: EventCase, connector: Connector) -> None:
        target = await case.target(connector)
        consent = case.harness.emulator.consent_fields(target)
        if consent is None:
            pytest.skip(f"{connector.title}'s {target.kind!r} targets carry no consent fields")
        fields, expected = consent
        ops = case.ops(target, range(3), extra=fields)
        assert _statuses(await case.send(connector, target, ops)) == {"delivered"}
        for events in case.counted(target).values():
            assert all(events[0].consent.get(k) == v for k, v in expected.items()), events[0].consent

    async def test_invalid_identifiers_are_never_sent(self, case: EventCase, connector: Connector) -> None:
        target = await case.target(connector)
        good = case.ops(target, [1])[0]
        bad = dataclasses.replace(good, key="evt-bad", identifier=case.harness.emulator.invalid_identifier())
        before = len(case.harness.emulator.requests)
        outcomes = await case.send(connector, target, [bad])
        assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED]
        assert outcomes[0].message.startswith("not sent")
        assert len(case.harness.emulator.requests) == before

    async def test_no_raw_personal_data_is_sent(self, case: EventCase, connector: Connector) -> None:
        if not case.harness.emulator.requires_hashing:
            pytest.skip(f"{connector.title} takes identifiers in clear (it does not require hashing)")
        target = await case.target(connector)
        ops = case.ops(target, range(4))
        assert _statuses(await case.send(connector, target, ops)) == {"delivered"}
        found = scan(case.harness.emulator)
        assert found == [], f"raw personal data sent to {connector.title}: {found[:5]}"
        assert case.harness.emulator.limit_violations == []
