"""Push-mode forwarding against a real receiver on loopback that checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from autoplay_cli.errors import UsageError
from autoplay_cli.stream.forward import Forwarder
from autoplay_cli.wire import parse_payload

SECRET = "whsec_test_forward_secret"
PAYLOAD = parse_payload(
    {
        "type": "actions",
        "product_id": "p",
        "session_id": "s1",
        "actions": [{"type": "click", "description": "é"}],
        "custom": 7,
    }
)


@dataclass
class Receiver:
    """A webhook receiver: answers ``statuses`` in turn (then 200) and checks signatures."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    bodies: list[dict[str, object]] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            given = self.headers.get("X-Connector-Signature", "")
            state.valid.append(hmac.compare_digest(expected.encode(), given.encode()))
            state.bodies.append(json.loads(raw))
            code = state.statuses.pop(0) if state.statuses else 200
            self.send_response(code if state.valid[-1] else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def no_sleep(seconds: float) -> None:
    return None


async def test_signed_like_the_connector(receiver: Receiver) -> None:
    fwd = Forwarder(receiver.url, SECRET)
    try:
        result = await fwd.forward(PAYLOAD)
    finally:
        await fwd.aclose()
    assert result.ok and result.status == 200 and result.attempts == 1
    assert receiver.valid == [True]
    assert receiver.bodies[0] == PAYLOAD.to_wire()  # unknown fields kept
    assert (fwd.ok, fwd.failed) == (1, 0)


async def test_a_wrong_secret_is_rejected_by_the_receiver(receiver: Receiver) -> None:
    fwd = Forwarder(receiver.url, "not-the-secret")
    try:
        result = await fwd.forward(PAYLOAD)
    finally:
        await fwd.aclose()
    assert receiver.valid == [False] and result.status == 401 and not result.ok
    assert result.attempts == 1  # a 4xx is final
    assert fwd.failed == 1


async def test_5xx_is_retried_then_succeeds(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    fwd = Forwarder(receiver.url, SECRET, sleep=no_sleep)
    try:
        result = await fwd.forward(PAYLOAD)
    finally:
        await fwd.aclose()
    assert result.ok and result.attempts == 3 and len(receiver.bodies) == 3


async def test_a_down_endpoint_is_skipped_then_tried_once_per_payload() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fwd = Forwarder(f"http://127.0.0.1:{port}/hook", SECRET, sleep=no_sleep)
    try:
        first = await fwd.forward(PAYLOAD)
        second = await fwd.forward(PAYLOAD)
    finally:
        await fwd.aclose()
    assert first.status is None and first.attempts == 3 and "Connect" in (first.error or "")
    assert second.attempts == 1
    assert SECRET not in (first.error or "")
    assert (fwd.ok, fwd.failed) == (0, 2)


def test_the_url_must_be_http() -> None:
    with pytest.raises(UsageError):
        Forwarder("ftp://x", None)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "is not a valid URL"),
        ("http://", "has no host"),
        ("http://u:pw_secret_9@[::1", "is not a valid URL"),
    ],
)
def test_a_url_that_cannot_be_posted_to_is_a_usage_error(url: str, why: str) -> None:
    with pytest.raises(UsageError, match=why) as err:
        Forwarder(url, None)
    assert "pw_secret_9" not in err.value.one_line()
