"""Microsoft Advertising customer match: export segments as customer lists of hashed emails."""
