"""Fixtures of the auth tests: a local OpenID Connect provider served over real HTTP on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from sluice.auth.sso.emulator import FakeOidcProvider


@pytest.fixture
def oidc_provider() -> Iterator[FakeOidcProvider]:
    """A fake identity provider (client ``sluice-test``) listening on 127.0.0.1, stopped afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    provider = FakeOidcProvider(f"http://127.0.0.1:{port}", "sluice-test", "idp-client-secret-123")
    server = uvicorn.Server(uvicorn.Config(provider.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the fake identity provider did not start"
    yield provider
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
