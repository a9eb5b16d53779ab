"""Reddit Ads custom audiences: export segments as customer lists of hashed emails or mobile ad ids."""
