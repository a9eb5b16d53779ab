"""Splio Customer Platform destination: contacts (upsert), targeting groups and lists (membership)."""
