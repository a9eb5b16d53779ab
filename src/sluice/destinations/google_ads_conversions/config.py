"""Google Ads conversions destination config: the Google Ads connection of Customer Match
(:class:`~sluice.destinations.google_ads.config.GoogleAdsConfig`), events by default."""

from __future__ import annotations

from sluice.destinations.google_ads.config import GoogleAdsConfig
from sluice.destinations.sdk import ActivationDefaults, IdentifierKind, Service


class GoogleAdsConversionsConfig(GoogleAdsConfig):
    """Same account, OAuth client and developer token as Customer Match; the consent fields are
    the default consent of each conversion (a mapped ``ad_user_data`` / ``ad_personalization``
    field overrides them per row)."""


class GoogleAdsConversionsActivationDefaults(ActivationDefaults):
    """New activations send click conversions (matched on the Google click id) to a conversion action."""

    service: Service = Service.EVENTS
    target_kind: str = "conversion_action"
    identifier: IdentifierKind = IdentifierKind.PLATFORM_ID
