"""The one HTTP layer every connector uses.

httpx async client + a rate limiter (aiolimiter) + a cap on requests in flight + retries with
backoff (tenacity) that honour ``Retry-After`` and the vendor's own rate-limit headers, and a
timeout per request. A connector gets a :class:`VendorHttp` and only interprets 2xx/4xx
answers; 429, 5xx, timeouts, broken connections and malformed bodies are retried here and,
when retries run out, surface as :class:`RateLimited` / :class:`Transient`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from sluice.core.logging import get_logger
from sluice.destinations.errors import RateLimited, Transient

log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class Pacer(Protocol):
    """What paces requests: an aiolimiter ``AsyncLimiter`` (tests put one on their virtual clock)."""

    async def acquire(self, amount: float = 1) -> None: ...


@dataclass(frozen=True)
class RateHeaders:
    """What a response says about the rate limit: seconds to wait before retrying a 429
    (``retry_after``), requests left in the window and seconds until it resets."""

    retry_after: float | None = None
    remaining: int | None = None
    reset_in: float | None = None

    @classmethod
    def from_retry_after(cls, response: httpx.Response, now: float) -> RateHeaders:
        return cls(retry_after=parse_retry_after(response.headers.get("Retry-After"), now))

    @classmethod
    def from_x_ratelimit(cls, response: httpx.Response, now: float) -> RateHeaders:
        """``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` as a Unix time (SendGrid, Intercom…);
        a ``Retry-After``, when sent too, wins for a 429."""

        def number(name: str) -> float | None:
            try:
                return float(response.headers[name])
            except (KeyError, ValueError):
                return None

        remaining, reset = number("X-RateLimit-Remaining"), number("X-RateLimit-Reset")
        return cls(
            retry_after=parse_retry_after(response.headers.get("Retry-After"), now),
            remaining=int(remaining) if remaining is not None else None,
            reset_in=max(reset - now, 0.0) + 0.1 if reset is not None else None,
        )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds (it may be a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


class VendorHttp:
    """Requests to one vendor account, paced, capped and retried.

    ``sleep`` and ``clock`` (wall-clock seconds, as vendors' reset headers use) are attributes so tests can run the waits on a virtual clock shared
    with an emulator; the limiter and the concurrency cap are shared by every request of this
    connector (one per credential).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        concurrency: int = 4,
        rate_limit: tuple[float, float] | None = None,
        rate_headers: Callable[[httpx.Response, float], RateHeaders] = RateHeaders.from_retry_after,
        owns_client: bool = False,
        timeout: float = 60.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.auth = auth
        self.rate_headers = rate_headers
        self.owns_client = owns_client
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep: Sleep = asyncio.sleep
        self.clock: Clock = time.time
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        #: paces requests to the declared rate (None: unpaced); replaceable, e.g. by a virtual-time pacer
        self.limiter: Pacer | None = AsyncLimiter(rate_limit[0], rate_limit[1]) if rate_limit else None
        self.rate_limit = rate_limit
        self._paused_until = 0.0
        self.requests_sent = 0
        self.retries = 0

    async def aclose(self) -> None:
        if self.owns_client:
            await self.client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        expect_json: bool = True,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """Send a request, retrying throttling and transient failures; return the final answer
        (2xx with a parseable body, or a 4xx other than 429 for the connector to interpret).
        ``expect_json=False`` for endpoints that answer plain text (a 2xx body is then not parsed);
        ``headers`` are added to the connector's own for this request only; ``form`` is sent as an
        ``application/x-www-form-urlencoded`` body (vendors whose API takes form fields), or with
        ``files`` (``{field: (file name, content, content type)}``) as ``multipart/form-data``."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((RateLimited, Transient)),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
            before_sleep=self._count_retry,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(
                    method,
                    path,
                    json,
                    params,
                    external=False,
                    parse=expect_json,
                    extra_headers=headers,
                    form=form,
                    files=files,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def download(self, url: str) -> httpx.Response:
        """GET an absolute URL the vendor handed out (an export or error file on its storage host),
        paced and retried like :meth:`request` but *without* the vendor's credentials."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((RateLimited, Transient)),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
            before_sleep=self._count_retry,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt("GET", url, None, None, external=True, parse=False)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        *,
        external: bool,
        parse: bool,
        extra_headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        wait = self._paused_until - self.clock()
        if wait > 0:
            await self.sleep(wait)
        async with self._slots:
            if self.limiter is not None:
                await self.limiter.acquire()
            self.requests_sent += 1
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self.client.request(
                        method,
                        path if external else self.base_url + path,
                        json=json,
                        data=form,
                        files=files,
                        params=params,
                        headers=None if external else {**self.headers, **(extra_headers or {})},
                        auth=None if external else self.auth or httpx.USE_CLIENT_DEFAULT,
                    )
                    await response.aread()
            except TimeoutError:
                raise Transient(f"{method} {path} timed out after {self.timeout:g}s") from None
            except httpx.TransportError as exc:
                raise Transient(f"{method} {path} failed: {type(exc).__name__} {exc}") from None
        rate = self.rate_headers(response, self.clock())
        if rate.remaining is not None and rate.remaining <= 0 and rate.reset_in:
            self._paused_until = max(self._paused_until, self.clock() + rate.reset_in)
        if response.status_code == 429:
            retry_after = rate.retry_after if rate.retry_after is not None else rate.reset_in
            raise RateLimited(f"{method} {path}: rate limited (HTTP 429)", retry_after)
        if response.status_code >= 500:
            raise Transient(f"{method} {path}: HTTP {response.status_code} {_excerpt(response)}")
        if response.is_success and response.content and parse:
            try:
                response.json()
            except ValueError:
                raise Transient(f"{method} {path}: malformed response body {_excerpt(response)}") from None
        return response

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after + random.uniform(0, 0.05)  # noqa: S311 - jitter, not crypto
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - "equal jitter" backoff

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.info("destination request retried", attempt=state.attempt_number, reason=str(error))


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")
