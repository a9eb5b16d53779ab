"""Zendesk Support destination: users and custom object records (upserts through bulk jobs)."""
