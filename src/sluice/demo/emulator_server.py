"""Every destination emulator served from a background thread (the demo and end-to-end tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType

import uvicorn

from sluice.destinations.emulation import Emulator
from sluice.destinations.emulators import MOUNT_PREFIX, build_emulators, emulators_app, seed_most


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundEmulators:
    """``with BackgroundEmulators(contacts=…) as emulators:`` serves them at ``emulators.url``."""

    def __init__(self, *, port: int | None = None, contacts: Iterable[str] = (), share: float = 0.9) -> None:
        self.port = port or free_port()
        self.emulators: dict[str, Emulator] = build_emulators()
        seed_most(self.emulators.values(), contacts, share)
        self.url = f"http://127.0.0.1:{self.port}{MOUNT_PREFIX}"
        config = uvicorn.Config(
            emulators_app(self.emulators, f"http://127.0.0.1:{self.port}"),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="emulators", daemon=True)

    def start(self) -> BackgroundEmulators:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the emulators could not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundEmulators:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
