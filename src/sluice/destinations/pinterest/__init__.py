"""Pinterest (API v5): customer-list audiences and the API for Conversions."""
