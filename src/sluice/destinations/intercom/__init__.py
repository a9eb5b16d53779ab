"""Intercom: export segments as a tag on existing contacts."""
