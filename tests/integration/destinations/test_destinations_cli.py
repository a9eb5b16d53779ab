"""``sluice destination`` as a user runs it (real subprocesses, real ports)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from sluice.cli.main import app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_types_lists_every_destination_with_its_capabilities() -> None:
    result = CliRunner().invoke(app, ["destination", "types"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "batch=500" in lines["mailchimp"]
    assert "read_members=no" in lines["voyado"]


@pytest.mark.slow
def test_emulate_all_serves_every_vendor_seeded_with_most_demo_users(tmp_path: Path) -> None:
    warehouse = tmp_path / "demo.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "CREATE TABLE users AS SELECT 'person' || i || '@example.com' AS email FROM range(200) t(i)"
        )
        con.execute("INSERT INTO users VALUES (NULL), ('not-an-email')")
    port = free_port()
    command = [sys.executable, "-m", "sluice", "destination", "emulate", "all", "--port", str(port)]
    process = subprocess.Popen([*command, "--seed-warehouse", str(warehouse)], stdout=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        index = None
        for _ in range(300):
            try:
                index = httpx.get(f"{base}/emulators", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert index is not None, "the emulators did not start"
        assert set(index) >= {"mailchimp", "intercom", "voyado"}
        assert index["mailchimp"]["config"]["base_url"] == f"{base}/emulators/mailchimp/3.0"
        state = httpx.get(f"{base}/emulators/intercom/_emulator/state").json()
        assert 150 <= state["contacts"] < 200, "most, not all, demo users exist as contacts"
        ping = httpx.get(f"{base}/emulators/mailchimp/3.0/ping", auth=("x", "wrong-us1"))
        assert ping.status_code == 401
        assert ping.headers["content-type"] == "application/problem+json"
    finally:
        process.terminate()
        process.wait(timeout=10)
