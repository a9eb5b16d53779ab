"""Conformance suites and test harness for destinations (imported by tests only)."""

from sluice.destinations.testing.conformance import DestinationConformance
from sluice.destinations.testing.events import EventsConformance
from sluice.destinations.testing.harness import Harness
from sluice.destinations.testing.upsert import UpsertConformance

__all__ = ["DestinationConformance", "EventsConformance", "Harness", "UpsertConformance"]
