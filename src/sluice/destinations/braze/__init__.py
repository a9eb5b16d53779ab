"""Braze destination: user attributes, track events, subscription groups and segment attributes."""
