"""Meta (Facebook) Custom Audiences: export segments as customer-file custom audiences (hashed)."""
