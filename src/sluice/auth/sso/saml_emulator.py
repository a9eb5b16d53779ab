"""A local SAML 2.0 identity provider: a faithful fake of a third-party IdP (Okta, Entra, ADFS).

``GET /sso`` takes an AuthnRequest (HTTP-Redirect binding), signs in the person named in the
request's Subject at once (as if they had typed their password) and answers with the usual
auto-submitting HTML form that POSTs a signed Response (RSA-SHA256, assertion signed) and the
RelayState to the service provider's ACS URL. The signing key and self-signed certificate are
generated at start. Used by the tests; it never talks to the network.
"""

from __future__ import annotations

import base64
import html
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from lxml import etree  # type: ignore[import-untyped]
from onelogin.saml2.utils import OneLogin_Saml2_Utils

_NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}


@dataclass
class SamlUser:
    """A person known to the fake provider."""

    email: str
    name: str = ""


def _key_and_certificate(common_name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeSamlIdp:
    """A SAML identity provider whose sign-in URL is ``{base_url}/sso``."""

    def __init__(self, base_url: str, entity_id: str = "https://idp.example.test/saml") -> None:
        self.base_url = base_url.rstrip("/")
        self.entity_id = entity_id
        self.key_pem, self.certificate_pem = _key_and_certificate("fake-saml-idp")
        self.users: dict[str, SamlUser] = {}
        self.audience_override: str | None = None
        self.app = self._build()

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/sso"

    def add_user(self, email: str, name: str = "") -> SamlUser:
        """Register a person who can sign in."""
        user = SamlUser(email=email, name=name)
        self.users[email.lower()] = user
        return user

    def _build(self) -> FastAPI:
        app = FastAPI(title="Fake SAML identity provider")

        @app.get("/sso", response_class=HTMLResponse)
        def single_sign_on(request: Request) -> HTMLResponse:
            raw = OneLogin_Saml2_Utils.decode_base64_and_inflate(request.query_params.get("SAMLRequest", ""))
            authn = etree.fromstring(raw if isinstance(raw, bytes) else raw.encode())
            request_id = authn.get("ID", "")
            acs_url = authn.get("AssertionConsumerServiceURL", "")
            audience = self.audience_override or authn.findtext("saml:Issuer", default="", namespaces=_NS)
            wanted = authn.findtext("saml:Subject/saml:NameID", default="", namespaces=_NS).lower()
            user = self.users.get(wanted)
            if user is None:
                return HTMLResponse("<p>Unknown user</p>", status_code=403)
            response_xml = self.response(user, request_id, acs_url, audience)
            encoded = base64.b64encode(response_xml.encode()).decode()
            relay = html.escape(request.query_params.get("RelayState", ""), quote=True)
            page = (
                f'<form method="post" action="{html.escape(acs_url, quote=True)}">'
                f'<input type="hidden" name="SAMLResponse" value="{encoded}"/>'
                f'<input type="hidden" name="RelayState" value="{relay}"/>'
                "</form><script>document.forms[0].submit()</script>"
            )
            return HTMLResponse(page)

        return app

    def response(self, user: SamlUser, in_response_to: str, acs_url: str, audience: str) -> str:
        """A Response whose assertion is signed with the provider's key."""
        now = datetime.now(UTC)
        assertion_id = "_" + secrets.token_hex(20)
        assertion = f"""<saml:Assertion xmlns:saml="{_NS["saml"]}" ID="{assertion_id}" Version="2.0" IssueInstant="{_instant(now)}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<saml:Subject>
<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{html.escape(user.email)}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
<saml:SubjectConfirmationData InResponseTo="{in_response_to}" NotOnOrAfter="{_instant(now + timedelta(minutes=5))}" Recipient="{html.escape(acs_url)}"/>
</saml:SubjectConfirmation>
</saml:Subject>
<saml:Conditions NotBefore="{_instant(now - timedelta(minutes=1))}" NotOnOrAfter="{_instant(now + timedelta(minutes=5))}">
<saml:AudienceRestriction><saml:Audience>{html.escape(audience)}</saml:Audience></saml:AudienceRestriction>
</saml:Conditions>
<saml:AuthnStatement AuthnInstant="{_instant(now)}" SessionIndex="{assertion_id}">
<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext>
</saml:AuthnStatement>
<saml:AttributeStatement>
<saml:Attribute Name="email"><saml:AttributeValue>{html.escape(user.email)}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="name"><saml:AttributeValue>{html.escape(user.name)}</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement>
</saml:Assertion>"""
        signed = OneLogin_Saml2_Utils.add_sign(assertion, self.key_pem, self.certificate_pem)
        signed_text = signed.decode() if isinstance(signed, bytes) else str(signed)
        signed_text = (
            signed_text.split("?>", 1)[-1].strip() if signed_text.startswith("<?xml") else signed_text
        )
        return f"""<samlp:Response xmlns:samlp="{_NS["samlp"]}" xmlns:saml="{_NS["saml"]}" ID="_{secrets.token_hex(20)}" Version="2.0" IssueInstant="{_instant(now)}" Destination="{html.escape(acs_url)}" InResponseTo="{in_response_to}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
{signed_text}
</samlp:Response>"""
