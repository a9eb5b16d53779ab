"""Vendor asynchronous jobs: submit, then poll a status URL until the job has finished.

Several vendors accept a batch with ``202 Accepted`` and a job id (SendGrid contact imports,
Zendesk ``job_statuses``, Klaviyo bulk jobs…): acceptance is not success, so a connector polls
the job and only then reports per-row outcomes (BRIEF §4 rule 5). :func:`poll_job` is that loop,
once: it waits between polls on the connector's clock (virtual in tests), backs off, and gives
up with :class:`~sluice.destinations.errors.Transient` after ``timeout`` seconds so the rows end
*failed* — retried by the next run, never reported delivered on a hope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sluice.destinations.errors import Transient
from sluice.destinations.http import VendorHttp


@dataclass(frozen=True)
class JobPolling:
    """How often and how long to poll: first wait ``interval`` seconds, multiplied by ``backoff``
    after every poll up to ``max_interval``; stop after ``timeout`` seconds of waiting."""

    interval: float = 1.0
    backoff: float = 1.5
    max_interval: float = 15.0
    timeout: float = 900.0


async def poll_job(
    http: VendorHttp,
    path: str,
    *,
    finished: Callable[[httpx.Response], bool],
    params: Mapping[str, Any] | None = None,
    polling: JobPolling = JobPolling(),
) -> httpx.Response:
    """GET ``path`` until ``finished(response)`` is true; return that response.

    ``finished`` sees every answer (2xx or 4xx, as :meth:`VendorHttp.request` returns them) and may
    raise the connector's own errors (e.g. ``ConfigError`` on a 401). 429/5xx are retried inside
    each poll by the HTTP layer. Raises :class:`Transient` when the job is still running after
    ``polling.timeout`` seconds.
    """
    waited = 0.0
    interval = polling.interval
    while True:
        response = await http.request("GET", path, params=params)
        if finished(response):
            return response
        if waited >= polling.timeout:
            raise Transient(f"job {path} still running after {waited:g}s; the rows are retried next run")
        await http.sleep(interval)
        waited += interval
        interval = min(interval * polling.backoff, polling.max_interval)
