"""Criteo audience segments: export segments as contact lists of hashed emails or mobile ad ids."""
