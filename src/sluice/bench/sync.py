"""``sluice bench sync``: a second run after 1% churn sends exactly the changed rows, in bounded memory.

For N and 10N rows, a child process (so its peak RSS is its own) syncs an audience from a DuckDB
warehouse file through the real pipeline (Ibis extract → DuckDB diff → Mailchimp connector) to
the Mailchimp emulator running in another process, churns 1% (adds, removes, changed emails),
runs again and counts the members the emulator received in that second run. Reported:
``sent_over_changed`` (target 1.00) and ``rss_ratio_10x`` = peak RSS at 10N / peak RSS at N
(target ≤ 1.3).
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import typer

EMULATOR_PATH = "/emulators/mailchimp"
DUCKDB_MEMORY_LIMIT = "64MB"  # per DuckDB connection (source and run); spills beyond it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"the emulator did not start at {url}")


def _emails(start: int, stop: int) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, stop)]


def child(rows: int, emulator: str, work: Path) -> dict[str, Any]:
    """Two runs over ``rows`` users in this process; returns counts and this process's peak RSS."""
    import duckdb
    import ibis

    from sluice.core.asyncio_bridge import run_sync
    from sluice.destinations.mailchimp.connector import MailchimpConnector
    from sluice.destinations.sdk import Service, TargetSpec
    from sluice.schemas.activations import FullRefreshBehaviour
    from sluice.sync.audience import AudienceSpec, IdentifierKind
    from sluice.sync.extract import FieldMapping, audience_expression, extract_batches
    from sluice.sync.load import Delivery
    from sluice.sync.pipeline import PipelineInputs, run_pipeline
    from sluice.sync.snapshot import SnapshotStore

    one = max(rows // 100, 1)
    warehouse = work / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), config={"memory_limit": DUCKDB_MEMORY_LIMIT}) as con:
        con.execute(
            f"CREATE TABLE users AS SELECT i AS user_id, 'user' || i || '@example.com' AS email, "
            f"'name' || (i % 1000) AS first_name FROM range({rows}) t(i)"
        )
    with httpx.Client(base_url=emulator, timeout=60) as http:
        for start in range(0, rows + one, 50_000):
            http.post(
                "/_emulator/contacts", json={"identifiers": _emails(start, min(start + 50_000, rows + one))}
            )
        http.post("/_emulator/contacts", json={"identifiers": [f"moved{i}@example.com" for i in range(one)]})

    emulator_config = httpx.get(emulator.rsplit(EMULATOR_PATH, 1)[0] + "/emulators").json()["mailchimp"][
        "config"
    ]
    store = SnapshotStore(str(work / "snapshots"))
    spec = AudienceSpec(IdentifierKind.EMAIL, ("FNAME",))

    async def sync(run: str, snapshot: str | None) -> tuple[str | None, int]:
        source = ibis.duckdb.connect(str(warehouse), read_only=True)
        source.raw_sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        expression = audience_expression(
            source.table("users"),
            primary_key="user_id",
            identifier_field="email",
            identifier_kind=IdentifierKind.EMAIL,
            mapping=[FieldMapping("first_name", "FNAME")],
        )
        config = emulator_config
        async with MailchimpConnector.connect(config) as connector:
            target = await connector.ensure_target(
                TargetSpec(kind="static_segment", name="bench", create_if_missing=True)
            )
            delivery = Delivery(connector, target, FullRefreshBehaviour.DESTINATION_DEFAULT)
            inputs = PipelineInputs(
                "bench", run, spec, Service.MEMBERSHIP, batch_rows=5000, previous_snapshot=snapshot
            )
            result = await run_pipeline(
                inputs,
                extract_batches(expression),
                store=store,
                work_dir=work / run,
                deliver=delivery.deliver,
                checkpoint=lambda _stage: False,
                memory_limit=DUCKDB_MEMORY_LIMIT,
            )
        source.disconnect()
        return result.snapshot_uri, result.report.counts.delivered

    first_snapshot, _ = run_sync(sync("first", None))
    with duckdb.connect(str(warehouse)) as con:  # 1% churn of each kind
        con.execute(f"DELETE FROM users WHERE user_id < {one}")
        con.execute(
            f"INSERT INTO users SELECT i, 'user' || i || '@example.com', 'new' FROM range({rows}, {rows + one}) t(i)"
        )
        con.execute(
            f"UPDATE users SET email = 'moved' || (user_id - {one}) || '@example.com' "
            f"WHERE user_id >= {one} AND user_id < {2 * one}"
        )
    with httpx.Client(base_url=emulator, timeout=60) as http:
        before = int(http.get("/_emulator/state").json()["requests"])
    _, delivered = run_sync(sync("second", first_snapshot))
    with httpx.Client(base_url=emulator, timeout=60) as http:
        total = int(http.get("/_emulator/state").json()["requests"])
        requests = http.get("/_emulator/requests", params={"limit": total - before}).json()
    sent = sum(
        len((r.get("body") or {}).get("members_to_add", []))
        + len((r.get("body") or {}).get("members_to_remove", []))
        for r in requests
        if isinstance(r.get("body"), dict)
    )
    # The truth: 1% removed + 1% added + 1% moved (each move = one remove and one add).
    changed = one + one + 2 * one
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "sent": sent,
        "changed": changed,
        "delivered": delivered,
        "peak_rss_mb": peak_kb / 1024,
    }


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("sync")
    def bench_sync(
        rows: int = typer.Option(100_000, min=1000, help="Audience size N (10N is run too)."),
    ) -> None:
        """Second-run precision after 1% churn, and peak memory at 10N vs N."""
        port = _free_port()
        emulator = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "sluice", "destination", "emulate", "mailchimp", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}{EMULATOR_PATH}"
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/emulators")
            results = []
            for size in (rows, rows * 10):
                with tempfile.TemporaryDirectory() as work:
                    started = time.perf_counter()
                    output = subprocess.run(  # noqa: S603 - our own module
                        [sys.executable, "-m", "sluice.bench.sync", str(size), url, work],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    result = json.loads(output.strip().splitlines()[-1])
                    result["seconds"] = time.perf_counter() - started
                    results.append(result)
                    typer.echo(
                        f"rows={size:>10,}  second run sent={result['sent']:,} changed={result['changed']:,}  "
                        f"peak RSS={result['peak_rss_mb']:.0f} MB  ({result['seconds']:.1f}s)"
                    )
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
        small, large = results
        typer.echo(
            f"RESULT sync sent_over_changed={small['sent'] / small['changed']:.2f} "
            f"rss_ratio_10x={large['peak_rss_mb'] / small['peak_rss_mb']:.2f}"
        )


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))))
