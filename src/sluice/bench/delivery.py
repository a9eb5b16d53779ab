"""``sluice bench delivery``: rows/s delivered against an emulator enforcing the vendor's limits,
compared with the theoretical ceiling those limits allow.

For Mailchimp the limits are 10 concurrent connections per key (more → 429), 500 members per
request and a fixed latency per request, so the ceiling is ``rows / (waves * latency)`` with
``waves = ceil(ceil(rows / 500) / 10)``. The ratio shows how much the delivery layer (batching,
concurrency cap, pacing, bookkeeping) loses against that bound. Other destinations use their own
declared batch size and concurrency in the same formula.
"""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import typer

from sluice.destinations import registry
from sluice.destinations.delivery import deliver
from sluice.destinations.sdk import Op, OpKind, OutcomeStatus


@contextmanager
def emulator_process(destination: str, latency: float) -> Iterator[str]:
    """``sluice destination emulate`` in its own process on a free loopback port (the vendor's CPU
    is not ours); yields the emulator's base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "sluice", "destination", "emulate", destination]
    command += ["--port", str(port), "--latency", str(latency)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 - our own CLI
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/emulators", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield f"{base}/emulators/{destination}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def run_delivery(destination: str, rows: int, emulator_url: str) -> tuple[float, dict[str, int], int]:
    """Deliver ``rows`` adds through the emulator at ``emulator_url``; seconds, outcome counts and
    requests the emulator refused with 429."""
    connector_class = registry.get(destination)
    emulator = registry.emulator_class(destination)()  # for its identifiers and config only
    identifiers = [emulator.contact_identifier(n) for n in range(rows)]
    async with httpx.AsyncClient(timeout=120) as client:
        seeded = await client.post(f"{emulator_url}/_emulator/contacts", json={"identifiers": identifiers})
        seeded.raise_for_status()
        connector = connector_class.connect(emulator.connector_config(emulator_url), http_client=client)
        target = await connector.ensure_target(emulator.target_spec())
        ops = [Op(OpKind.ADD, str(n), identifier) for n, identifier in enumerate(identifiers)]
        counts = {str(status): 0 for status in OutcomeStatus}
        started = time.perf_counter()
        async for outcome in deliver(connector, target, ops):
            counts[str(outcome.status)] += 1
        elapsed = time.perf_counter() - started
        log = (await client.get(f"{emulator_url}/_emulator/requests", params={"limit": 10_000})).json()
    refused = sum(1 for request in log if request["status"] == 429)
    return elapsed, counts, refused


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("delivery")
    def bench_delivery(
        destination: str = typer.Option("mailchimp", help="Destination type whose emulator is used."),
        rows: int = typer.Option(100_000, min=1, help="Members to add."),
        latency: float = typer.Option(1.0, min=0.001, help="Fixed emulator latency per request (s)."),
    ) -> None:
        """Delivery throughput vs the ceiling the vendor's limits allow."""
        caps = registry.get(destination).capabilities
        batches = math.ceil(rows / caps.batch_size)
        waves = math.ceil(batches / caps.concurrency)
        ceiling = rows / (waves * latency)
        typer.echo(
            f"{destination}: {rows:,} rows, {caps.batch_size} per request, {caps.concurrency} concurrent, "
            f"latency {latency * 1000:.0f} ms → ceiling {ceiling:,.0f} rows/s ({waves} waves of requests)"
        )
        with emulator_process(destination, latency) as url:
            elapsed, counts, refused = asyncio.run(run_delivery(destination, rows, url))
        achieved = rows / elapsed
        typer.echo(f"delivered in {elapsed:.2f}s: {achieved:,.0f} rows/s  outcomes={counts}  429s={refused}")
        if counts["delivered"] != rows:
            typer.echo("not every row was delivered", err=True)
            raise typer.Exit(1)
        typer.echo(f"RESULT delivery ratio={achieved / ceiling:.3f} rows={rows}")
