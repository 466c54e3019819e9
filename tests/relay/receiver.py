"""A test receiver on real loopback HTTP: verifies signatures, records deliveries, and
answers with scripted statuses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from autoplay_cli.relay.signing import SignatureError, verify


class Receiver:
    """Answers each POST with the next scripted ``(status, headers)`` (then 200)."""

    def __init__(self, secret: str, script: list[tuple[int, dict[str, str]]] | None = None):
        self.secret = secret
        self.script = list(script or [])
        self.attempts: list[dict[str, Any]] = []  # every request, as received
        self.accepted: list[dict[str, Any]] = []  # deliveries answered with 2xx
        self.bad_signatures = 0
        self.cut_off = 0  # requests whose body ended before Content-Length (sender killed)
        self.lock = threading.Lock()
        self.url = ""

    def handle(self, body: bytes, headers: Any) -> tuple[int, dict[str, str]]:
        with self.lock:
            try:
                verify(self.secret, body, headers.get("X-Autoplay-Signature"))
            except SignatureError:
                self.bad_signatures += 1
                return 401, {}
            delivery = json.loads(body)
            assert headers.get("X-Autoplay-Delivery") == delivery["id"]
            self.attempts.append(delivery)
            status, extra = self.script.pop(0) if self.script else (200, {})
            if 200 <= status < 300:
                self.accepted.append(delivery)
            return status, extra


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender died mid-request (kill -9): nothing to verify or answer.
                with receiver.lock:
                    receiver.cut_off += 1
                self.close_connection = True
                return
            status, extra = receiver.handle(body, self.headers)
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
