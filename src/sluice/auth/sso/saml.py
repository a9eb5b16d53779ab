"""SAML 2.0 sign-in (service-provider side, python3-saml with xmlsec signatures).

``begin`` builds the AuthnRequest (HTTP-Redirect binding) and seals the request id, provider and
return path into the RelayState, which the identity provider echoes back with its response (the
response arrives as a cross-site POST, where SameSite cookies are not sent). ``complete`` checks
the RelayState, then lets python3-saml verify the response: signature against the provider's
certificate, destination, audience, validity window and InResponseTo our request id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput, NotAuthenticated
from sluice.store.tables.auth import SsoProvider

ACS_PATH = "/api/v1/auth/sso/saml/acs"
METADATA_PATH = "/api/v1/auth/sso/saml/metadata"
STATE_SECONDS = 600
EMAIL_ATTRIBUTES = ("email", "mail", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")
NAME_ATTRIBUTES = ("name", "displayName", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
REQUIRED_FIELDS = ("idp_entity_id", "idp_sso_url", "idp_x509_cert")


@dataclass(frozen=True)
class SamlIdentity:
    """What a verified assertion says about the person signing in."""

    provider_id: str
    subject: str
    email: str
    name: str
    return_to: str


def validate_saml_settings(values: dict[str, Any]) -> dict[str, str]:
    """The identity provider's entity id, sign-in URL and signing certificate (PEM or base64)."""
    missing = [name for name in REQUIRED_FIELDS if not str(values.get(name) or "").strip()]
    if missing:
        raise InvalidInput(f"saml: {', '.join(missing)} required for a SAML provider")
    cert = str(values["idp_x509_cert"]).strip()
    body = "".join(line for line in cert.splitlines() if "CERTIFICATE" not in line)
    return {
        "idp_entity_id": str(values["idp_entity_id"]).strip(),
        "idp_sso_url": str(values["idp_sso_url"]).strip(),
        "idp_x509_cert": body.strip(),
    }


def _settings(provider: SsoProvider, base_url: str) -> OneLogin_Saml2_Settings:
    idp = provider.saml or {}
    config = {
        "strict": True,
        "sp": {
            "entityId": base_url + METADATA_PATH + f"?provider_id={provider.id}",
            "assertionConsumerService": {
                "url": base_url + ACS_PATH,
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            },
            "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        },
        "idp": {
            "entityId": idp.get("idp_entity_id", ""),
            "singleSignOnService": {
                "url": idp.get("idp_sso_url", ""),
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            },
            "x509cert": idp.get("idp_x509_cert", ""),
        },
        "security": {
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,
            "rejectDeprecatedAlgorithm": True,
            # Self-hosted installs are often reached by a bare host name (http://sluice:8000).
            "allowSingleLabelDomains": True,
        },
    }
    return OneLogin_Saml2_Settings(config, sp_validation_only=True)


def _request_data(base_url: str, path: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    parts = urlsplit(base_url)
    https = parts.scheme == "https"
    return {
        "https": "on" if https else "off",
        "http_host": parts.netloc or "localhost",
        "script_name": (parts.path.rstrip("/") + path),
        "get_data": {},
        "post_data": form or {},
    }


def begin(
    provider: SsoProvider, box: SecretBox, base_url: str, *, login_hint: str = "", return_to: str = "/"
) -> str:
    """The URL of the identity provider with our AuthnRequest and sealed RelayState."""
    auth = OneLogin_Saml2_Auth(_request_data(base_url, ACS_PATH), old_settings=_settings(provider, base_url))
    placeholder = "__RELAY__"
    url = str(auth.login(return_to=placeholder, name_id_value_req=login_hint or None))
    sealed = box.encrypt(
        {
            "provider_id": provider.id,
            "request_id": auth.get_last_request_id(),
            "return_to": return_to,
            "expires": int(time.time()) + STATE_SECONDS,
        }
    )
    return url.replace(placeholder, sealed)


def read_relay_state(box: SecretBox, relay_state: str) -> dict[str, Any]:
    """The state sealed by :func:`begin`, if genuine and fresh."""
    try:
        values = box.decrypt(relay_state)
    except Exception:
        raise NotAuthenticated("the sign-in response does not belong to a sign-in we started") from None
    if int(values.get("expires", 0)) < time.time():
        raise NotAuthenticated("the sign-in took too long; start again")
    return values


def _first(attributes: dict[str, list[str]], names: tuple[str, ...]) -> str:
    for name in names:
        values = attributes.get(name) or []
        if values:
            return str(values[0])
    return ""


def complete(
    provider: SsoProvider, base_url: str, state: dict[str, Any], saml_response: str, relay_state: str
) -> SamlIdentity:
    """Verify the identity provider's response; returns the verified identity."""
    form = {"SAMLResponse": saml_response, "RelayState": relay_state}
    auth = OneLogin_Saml2_Auth(
        _request_data(base_url, ACS_PATH, form), old_settings=_settings(provider, base_url)
    )
    auth.process_response(request_id=state["request_id"])
    if auth.get_errors() or not auth.is_authenticated():
        reason = auth.get_last_error_reason() or ", ".join(auth.get_errors()) or "not authenticated"
        raise NotAuthenticated(f"the SAML response is not valid: {reason}")
    attributes: dict[str, list[str]] = auth.get_attributes()
    subject = str(auth.get_nameid() or "")
    email = (_first(attributes, EMAIL_ATTRIBUTES) or subject).strip().lower()
    if "@" not in email:
        raise NotAuthenticated("the identity provider did not share your email address")
    domain = email.rsplit("@", 1)[-1]
    if domain not in {d.lower() for d in provider.domains}:
        raise NotAuthenticated(f"accounts of {domain!r} cannot sign in through {provider.name!r}")
    return SamlIdentity(
        provider_id=provider.id,
        subject=subject,
        email=email,
        name=_first(attributes, NAME_ATTRIBUTES),
        return_to=str(state.get("return_to") or "/"),
    )


def metadata(provider: SsoProvider, base_url: str) -> str:
    """The service provider's metadata XML to register at the identity provider."""
    document = _settings(provider, base_url).get_sp_metadata()
    return document.decode() if isinstance(document, bytes) else str(document)
