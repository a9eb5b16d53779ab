"""Brevo destination: contact upserts (asynchronous imports) and contact list membership."""
