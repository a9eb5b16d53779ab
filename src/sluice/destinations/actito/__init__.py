"""Actito destination: profiles of a profile table (upsert), segmentations and subscriptions (membership)."""
