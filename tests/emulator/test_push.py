"""Push mode: a ``push`` product's payloads are POSTed, signed, to its forward URL (loopback)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from autoplay_cli.wire import PayloadEvent, parse_event

SECRET = "fwd_secret_0123456789"


class Receiver:
    """A chat platform's webhook endpoint: keeps each (signature, body); answers *status*."""

    def __init__(self) -> None:
        self.got: list[tuple[str | None, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((self.headers.get("X-Connector-Signature"), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.got) >= n, f"only {len(self.got)} of {n} deliveries"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def register(emu: Any, url: str, **changes: Any) -> httpx.Response:
    return httpx.post(
        f"{emu.url}/products",
        json={
            "product_id": "pushy",
            "contact_email": "ops@pushy.example",
            "webhook_secret": "whsec_" + "y" * 26,
            "integration_type": "push",
            "forward_url": url,
            "forward_secret": SECRET,
            **changes,
        },
    )


def test_each_payload_is_posted_signed_and_in_stream_order(
    make_emulator: Any, receiver: Receiver, sse: Any
) -> None:
    emu = make_emulator(rate=0, max_events=12, malformed_every=5)
    assert register(emu, receiver.url).status_code == 201
    receiver.wait_for(10)  # 12 events, of which ids 5 and 10 are not JSON: never pushed
    time.sleep(0.2)
    assert len(receiver.got) == 10
    for signature, body in receiver.got:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert signature == expected
        assert json.loads(body)["product_id"] == "pushy"
    # The bodies are the stream's own payload texts, in order.
    key = httpx.post(
        f"{emu.url}/products", json={**json.loads(register_body()), "force_reregister": True}
    )
    assert key.status_code == 201
    streamed = sse(
        f"{emu.url}/stream/pushy", key.json()["unkey_key"], stop_after=12, last_event_id="0"
    )
    frames = streamed.data_frames()
    texts = [f.text for f in frames if isinstance(parse_event(f.event, f.text), PayloadEvent)]
    assert len(frames) == 12 and [body.decode() for _, body in receiver.got] == texts


def register_body() -> str:
    return json.dumps(
        {
            "product_id": "pushy",
            "contact_email": "ops@pushy.example",
            "webhook_secret": "whsec_" + "y" * 26,
            "integration_type": "event_stream",
        }
    )


def test_failed_deliveries_are_counted_and_the_pusher_goes_on(
    make_emulator: Any, receiver: Receiver
) -> None:
    receiver.status = 400  # final: no retry
    emu = make_emulator(rate=0, max_events=4)
    assert register(emu, receiver.url).status_code == 201
    receiver.wait_for(4)
    deadline = time.monotonic() + 10
    while True:  # the count follows each answer, a moment after the receiver has the body
        health = httpx.get(f"{emu.url}/healthz").json()["push"]["pushy"]
        if health["failed"] >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert health == {"forward_url": receiver.url, "delivered": 0, "failed": 4}


def test_reregistering_as_event_stream_stops_the_pushes(
    make_emulator: Any, receiver: Receiver
) -> None:
    emu = make_emulator(rate=50)
    assert register(emu, receiver.url).status_code == 201
    receiver.wait_for(2)
    again = httpx.post(
        f"{emu.url}/products", json={**json.loads(register_body()), "force_reregister": True}
    )
    assert again.status_code == 201
    assert httpx.get(f"{emu.url}/healthz").json()["push"] == {}
    time.sleep(0.3)  # a POST already on its way may still land
    settled = len(receiver.got)
    time.sleep(0.5)  # at 50 events/s, a live pusher would have delivered ~25 more
    assert len(receiver.got) == settled
