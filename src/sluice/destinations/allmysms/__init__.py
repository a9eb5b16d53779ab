"""All My SMS: SMS contact lists (membership) and contacts with fields (upsert), keyed by mobile number."""
