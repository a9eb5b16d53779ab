"""Run a coroutine to completion from synchronous code, whatever the calling thread is doing."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)``, or the same in a fresh thread when this thread already runs a loop.

    Workers, the CLI and tests call the sync engine from plain code; a caller inside an event loop
    (an async framework, a browser-test driver) must not make ``asyncio.run`` fail.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sluice-async") as pool:
        return pool.submit(asyncio.run, coroutine).result()
