"""LinkedIn Matched Audiences: export segments as DMP segments of users (hashed emails) or companies."""
