"""OAuth 1.0a request signing (HMAC-SHA1, RFC 5849 §3.4), as the X Ads API requires.

Every request carries ``Authorization: OAuth oauth_consumer_key=…, oauth_nonce=…,
oauth_signature=…, oauth_signature_method="HMAC-SHA1", oauth_timestamp=…, oauth_token=…,
oauth_version="1.0"``. The signature is the base64 HMAC-SHA1, keyed with
``consumer_secret&token_secret``, of ``METHOD&url&params``: the upper-case method, the
percent-encoded base URL (no query) and the percent-encoded, sorted ``key=value`` pairs of the query
string, of a form-encoded body and of the ``oauth_*`` parameters. JSON bodies are not signed.
Sources: https://developer.x.com/en/docs/authentication/oauth-1-0a/creating-a-signature ,
https://datatracker.ietf.org/doc/html/rfc5849#section-3.4 . The emulator verifies with the same
functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from urllib.parse import parse_qsl, quote, unquote

import httpx


def percent_encode(value: str) -> str:
    """RFC 3986 encoding: everything but ``A-Z a-z 0-9 - . _ ~``."""
    return quote(value, safe="~-._")


def base_url(url: httpx.URL) -> str:
    """Scheme and host lowercased, default port dropped, path kept, query dropped."""
    scheme = url.scheme.lower()
    host = url.host.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    port = f":{url.port}" if url.port and url.port != default else ""
    return f"{scheme}://{host}{port}{url.raw_path.split(b'?', 1)[0].decode()}"


def signature_base(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """``METHOD&enc(url)&enc(sorted encoded pairs)`` (RFC 5849 §3.4.1)."""
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    normalised = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join([method.upper(), percent_encode(url), percent_encode(normalised)])


def sign(base: str, consumer_secret: str, token_secret: str) -> str:
    """Base64 HMAC-SHA1 of ``base`` keyed with the encoded secrets."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()


def request_params(request: httpx.Request) -> list[tuple[str, str]]:
    """The query pairs and, for a form-encoded body, its pairs (what the signature covers)."""
    pairs = list(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        pairs += parse_qsl(request.content.decode(), keep_blank_values=True)
    return pairs


def parse_header(header: str) -> dict[str, str]:
    """The parameters of an ``Authorization: OAuth k="v", …`` header (decoded)."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "oauth":
        return {}
    found: dict[str, str] = {}
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            found[key] = unquote(value.strip().strip('"'))
    return found


class OAuth1(httpx.Auth):
    """httpx auth signing each request (a fresh nonce and timestamp per attempt)."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        token: str,
        token_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self.consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self.token = token
        self._token_secret = token_secret
        self.clock = clock
        self.nonce = nonce

    def oauth_params(self) -> dict[str, str]:
        return {
            "oauth_consumer_key": self.consumer_key,
            "oauth_nonce": self.nonce(),
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": str(int(self.clock())),
            "oauth_token": self.token,
            "oauth_version": "1.0",
        }

    def header(self, method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
        """The ``Authorization`` value for a request to ``url`` (base URL) with ``params``."""
        oauth = self.oauth_params()
        base = signature_base(method, url, [*params, *oauth.items()])
        oauth["oauth_signature"] = sign(base, self._consumer_secret, self._token_secret)
        return "OAuth " + ", ".join(
            f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in sorted(oauth.items())
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header(
            request.method, base_url(request.url), request_params(request)
        )
        yield request


def verify(
    header: str,
    method: str,
    url: str,
    params: Iterable[tuple[str, str]],
    secrets_for: Mapping[str, str],
    token_secrets: Mapping[str, str],
) -> str | None:
    """Why a signed request is refused (None when the signature is right): unknown consumer key or
    token, wrong method, or a signature that does not match."""
    oauth = parse_header(header)
    if not oauth:
        return "missing OAuth Authorization header"
    consumer_secret = secrets_for.get(oauth.get("oauth_consumer_key", ""))
    token_secret = token_secrets.get(oauth.get("oauth_token", ""))
    if consumer_secret is None or token_secret is None:
        return "unknown consumer key or access token"
    if oauth.get("oauth_signature_method") != "HMAC-SHA1":
        return "unsupported signature method"
    signed = [(k, v) for k, v in oauth.items() if k != "oauth_signature"]
    expected = sign(signature_base(method, url, [*params, *signed]), consumer_secret, token_secret)
    if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
        return "signature does not match"
    return None
