"""Display & Video 360: segments as Customer Match first-party audiences (hashed contact info)."""
