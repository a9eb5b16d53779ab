"""Every registered destination passes the conformance suites against its emulator."""

from sluice.destinations.testing import DestinationConformance, EventsConformance, UpsertConformance


class TestDestinationConformance(DestinationConformance):
    """Parametrised over every destination type with the membership service."""


class TestUpsertConformance(UpsertConformance):
    """Parametrised over every upsert target an emulator declares."""


class TestEventsConformance(EventsConformance):
    """Parametrised over every event target an emulator declares."""
