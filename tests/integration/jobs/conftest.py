"""Fixtures of the jobs tests: local alert receivers (see jobs_alert_receivers)."""

from jobs_alert_receivers import http_receiver, smtp_receiver

__all__ = ["http_receiver", "smtp_receiver"]
