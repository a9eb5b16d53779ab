"""Every registered destination passes the conformance suite against its emulator."""

from sluice.destinations.testing import DestinationConformance


class TestDestinationConformance(DestinationConformance):
    """Parametrised over every destination type the registry discovers."""
