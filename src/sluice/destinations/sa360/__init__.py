"""Search Ads 360: offline conversions to Floodlight activities (legacy Search Ads 360 API v2)."""
