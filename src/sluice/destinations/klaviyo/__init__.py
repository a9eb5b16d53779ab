"""Klaviyo destination: list membership, profile upserts (bulk import jobs) and list subscriptions with consent."""
