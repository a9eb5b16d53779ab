"""Destinations: the SDK, delivery, the registry, emulators and one folder per platform."""
