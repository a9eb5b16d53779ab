"""Every destination's emulator on one port, for ``make run``, ``sluice demo`` and benchmarks.

``serve_all(port=9000)`` mounts each emulator under ``/emulators/<name>``; a connector reaches
it with ``emulator.connector_config("http://127.0.0.1:9000/emulators/<name>")``. The demo seeds
them with most — not all — demo users, so "contact not found" rejections show up in runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from sluice.destinations import registry
from sluice.destinations.emulation import Emulator

MOUNT_PREFIX = "/emulators"


def build_emulators(names: Iterable[str] | None = None, *, latency: float = 0.0) -> dict[str, Emulator]:
    """A fresh emulator per destination type (all registered types when ``names`` is None)."""
    chosen = list(names) if names is not None else [c.type_name for c in registry.all_types()]
    return {name: registry.emulator_class(name)(latency=latency) for name in chosen}


def emulators_app(emulators: dict[str, Emulator], base_url: str = "") -> Starlette:
    """One ASGI app serving each emulator under ``/emulators/<name>``; ``GET /emulators`` lists
    them with the destination config that reaches each one."""

    def index(request: Request) -> JSONResponse:
        root = base_url or str(request.base_url).rstrip("/")
        body: dict[str, Any] = {
            name: {
                "url": f"{root}{MOUNT_PREFIX}/{name}",
                "config": emulator.connector_config(f"{root}{MOUNT_PREFIX}/{name}"),
            }
            for name, emulator in emulators.items()
        }
        return JSONResponse(body)

    routes: list[Any] = [Route(MOUNT_PREFIX, index)]
    routes += [Mount(f"{MOUNT_PREFIX}/{name}", app=emulator.app) for name, emulator in emulators.items()]
    return Starlette(routes=routes)


def keeps(identifier: str, share: float) -> bool:
    """Deterministically keep about ``share`` of identifiers (same answer on every run)."""
    digest = hashlib.sha256(identifier.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def seed_most(emulators: Iterable[Emulator], identifiers: Iterable[str], share: float = 0.9) -> int:
    """Make about ``share`` of ``identifiers`` existing contacts in every emulator."""
    kept = [i for i in identifiers if keeps(i, share)]
    for emulator in emulators:
        emulator.seed_contacts(kept)
    return len(kept)


def demo_contacts(warehouse: Path) -> list[str]:
    """Well-formed emails of the demo warehouse's users (DuckDB file)."""
    import duckdb

    from sluice.sync.validate import EMAIL_PATTERN

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT DISTINCT email FROM users WHERE email IS NOT NULL AND regexp_full_match(email, ?)",
            [EMAIL_PATTERN],
        ).fetchall()
    finally:
        con.close()
    return [str(row[0]) for row in rows]


def serve_all(
    host: str = "127.0.0.1",
    port: int = 9000,
    *,
    names: Iterable[str] | None = None,
    latency: float = 0.0,
    contacts: Iterable[str] = (),
) -> None:
    """Run every emulator on one port until interrupted."""
    emulators = build_emulators(names, latency=latency)
    seed_most(emulators.values(), contacts)
    uvicorn.run(emulators_app(emulators, f"http://{host}:{port}"), host=host, port=port, log_level="warning")
