"""Mailchimp: export segments as static segments of an audience."""
