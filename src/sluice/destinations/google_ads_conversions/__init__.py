"""Google Ads conversions: offline click conversions, enhanced conversions and adjustments."""
