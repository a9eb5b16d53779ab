"""Local receivers for alerts: an HTTP server that records POSTed JSON, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class HttpReceiver:
    """Records every POST: path and JSON body; answers ``status``."""

    url: str
    received: list[tuple[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = HttpReceiver(url=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            receiver.received.append((self.path, json.loads(self.rfile.read(length) or b"null")))
            self.send_response(receiver.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.receiver.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    with socket.socket() as probe:  # aiosmtpd needs a concrete port to check its own start
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = SmtpReceiver("127.0.0.1", port)
    controller = Controller(_Handler(receiver), hostname="127.0.0.1", port=port)
    controller.start()
    yield receiver
    controller.stop()
