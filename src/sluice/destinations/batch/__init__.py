"""Batch (batch.com) destination: profile attributes and events (CEP), install custom data (MEP)."""
