"""Iterable destination: user profile attributes (bulk update) and static list membership."""
