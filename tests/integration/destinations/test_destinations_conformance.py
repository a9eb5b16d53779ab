"""Every registered destination passes the conformance suites against its emulator."""

from sluice.destinations.testing import DestinationConformance, UpsertConformance


class TestDestinationConformance(DestinationConformance):
    """Parametrised over every destination type with the membership service."""


class TestUpsertConformance(UpsertConformance):
    """Parametrised over every upsert target an emulator declares."""
