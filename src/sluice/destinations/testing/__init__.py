"""Conformance suite and test harness for destinations (imported by tests only)."""

from sluice.destinations.testing.conformance import DestinationConformance
from sluice.destinations.testing.harness import Harness

__all__ = ["DestinationConformance", "Harness"]
