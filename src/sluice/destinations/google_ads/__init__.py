"""Google Ads Customer Match: segments as CRM-based user lists, members as SHA-256 hashes."""
