"""TikTok (API for Business v1.3): customer-file custom audiences and the Events API."""
