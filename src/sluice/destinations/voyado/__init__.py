"""Voyado Engage: synchronize user segments to a label or a consent status."""
