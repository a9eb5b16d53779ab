"""X (Twitter) Ads custom audiences: export segments as audiences of hashed emails and usernames."""
