"""The stream client against the emulator over loopback, and MockTransport for odd peers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import AuthError, NotFoundError, ServiceUnavailableError
from autoplay_cli.stream import Notice, StreamClient, StreamConfig
from autoplay_cli.wire import (
    GapEvent,
    HeartbeatEvent,
    MalformedEvent,
    ParsedEvent,
    PayloadEvent,
    UnknownEvent,
)

FAST: dict[str, Any] = {"initial_backoff": 0.01, "max_backoff": 0.05}


def config_for(handle: Any, **changes: Any) -> StreamConfig:
    values: dict[str, Any] = {"idle_timeout": 5.0, **FAST, **changes}
    return StreamConfig(handle.url, handle.product_id, handle.token, **values)


async def collect(
    client: StreamClient,
    n: int,
    *,
    timeout: float = 20.0,
    keep: Callable[[ParsedEvent], bool] = lambda e: isinstance(e, PayloadEvent),
) -> list[ParsedEvent]:
    out: list[ParsedEvent] = []
    agen = client.events()
    try:
        async with asyncio.timeout(timeout):
            async for event in agen:
                if keep(event):
                    out.append(event)
                    if len(out) >= n:
                        break
    finally:
        await agen.aclose()
    return out


def ids(events: list[ParsedEvent]) -> list[int]:
    return [int(e.id) for e in events if e.id is not None]


# -- against the emulator ---------------------------------------------------------------


async def test_reads_every_event_in_order(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=40, retry_ms=20)
    client = StreamClient(config_for(emu))
    events = await collect(client, 40)
    assert ids(events) == list(range(1, 41))
    assert client.stats.connects == 1 and client.stats.reconnects == 0
    assert sum(client.stats.payloads.values()) == 40
    assert client.stats.last_event_id == "40"
    assert client.stats.bytes_received > 40 * 100


async def test_resumes_across_drops_without_loss_or_duplicate(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=60, drop_every=7, retry_ms=10)
    notices: list[Notice] = []
    client = StreamClient(config_for(emu), on_notice=notices.append)
    events = await collect(client, 60)
    assert ids(events) == list(range(1, 61))
    assert client.stats.reconnects >= 8
    assert client.stats.gaps == 0
    assert any("resuming after id 7" in n.message for n in notices)


async def test_stalled_connection_is_detected_and_replaced(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=12, stall_after=5, retry_ms=10)
    client = StreamClient(config_for(emu, idle_timeout=0.3))
    events = await collect(client, 12)
    assert ids(events) == list(range(1, 13))
    assert client.stats.stalls >= 2
    assert "stalled" in (client.stats.last_error or "")


async def test_malformed_frames_are_counted_not_fatal(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=30, malformed_every=4, retry_ms=10)
    client = StreamClient(config_for(emu))
    events = await collect(client, 30, keep=lambda e: isinstance(e, PayloadEvent | MalformedEvent))
    malformed = [e for e in events if isinstance(e, MalformedEvent)]
    assert [int(e.id) for e in malformed if e.id] == [4, 8, 12, 16, 20, 24, 28]
    assert client.stats.malformed == 7
    assert sum(client.stats.payloads.values()) == 23


async def test_a_resume_point_older_than_the_buffer_is_reported_as_a_gap(
    make_emulator: Any,
) -> None:
    emu = make_emulator(rate=0, max_events=30, ring_size=5, retry_ms=10)
    await collect(StreamClient(config_for(emu)), 30)  # all produced
    notices: list[Notice] = []
    late = StreamClient(config_for(emu, last_event_id="2"), on_notice=notices.append)
    events = await collect(late, 6, keep=lambda e: isinstance(e, PayloadEvent | GapEvent))
    gap = events[0]
    assert isinstance(gap, GapEvent) and gap.requested_id == "2"
    assert ids(events[1:]) == [26, 27, 28, 29, 30]
    assert late.stats.gaps == 1 and late.stats.missed == 23
    assert any(n.kind == "gap" and "23 events lost" in n.message for n in notices)


async def test_a_wrong_token_is_final_and_never_echoed(make_emulator: Any) -> None:
    emu = make_emulator()
    secret = "uk_live_WRONG_secret_value_123"
    client = StreamClient(StreamConfig(emu.url, emu.product_id, secret, **FAST))
    with pytest.raises(AuthError) as info:
        await collect(client, 1, timeout=10)
    text = info.value.one_line()
    assert secret not in text and "WRONG" not in text
    assert "AUTOPLAY_TOKEN" in text and "401" in text
    assert client.stats.reconnects == 0


async def test_an_unknown_product_is_final(make_emulator: Any) -> None:
    emu = make_emulator()
    client = StreamClient(StreamConfig(emu.url, "no-such-product", emu.token, **FAST))
    with pytest.raises(NotFoundError) as info:
        await collect(client, 1, timeout=10)
    assert "/stream/no-such-product" in info.value.one_line()
    assert "`product_id`" in info.value.one_line()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_max_retries_against_a_closed_port() -> None:
    token = "uk_live_secret_token_abcdef"
    client = StreamClient(
        StreamConfig(f"http://127.0.0.1:{closed_port()}", "acme", token, max_retries=2, **FAST)
    )
    with pytest.raises(ServiceUnavailableError) as info:
        await collect(client, 1, timeout=10)
    text = info.value.one_line()
    assert "after 2 retries" in text and "cannot connect" in text and token not in text
    assert client.stats.reconnects == 2


def test_blocking_iteration_and_first_event(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=3, retry_ms=10)
    client = StreamClient(config_for(emu))
    first = client.first(10)
    assert isinstance(first, PayloadEvent) and first.id == "1"
    seen = []
    for event in StreamClient(config_for(emu, last_event_id="1")).iter_events():
        seen.append(event)
        if len(seen) == 2:
            break
    assert [e.id for e in seen] == ["2", "3"]


async def test_first_event_times_out_with_the_last_error() -> None:
    client = StreamClient(StreamConfig(f"http://127.0.0.1:{closed_port()}", "acme", "tok", **FAST))
    with pytest.raises(ServiceUnavailableError, match=r"within 0\.3 s.*cannot connect"):
        await client.afirst(0.3)


# -- odd peers, via MockTransport ---------------------------------------------------------


class Script:
    """A scripted connector: one response factory per connection attempt."""

    def __init__(self, *responses: Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses[min(len(self.requests), len(self.responses)) - 1](request)


def sse(*chunks: bytes | float) -> Callable[[httpx.Request], httpx.Response]:
    """An SSE response whose body yields *chunks*; a float sleeps that long instead."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            if isinstance(chunk, float):
                await asyncio.sleep(chunk)
            else:
                yield chunk

    return lambda request: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body()
    )


def status(code: int, ctype: str = "text/plain") -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, headers={"content-type": ctype}, text="no")


ACTIONS = b'{"type":"actions","product_id":"p","session_id":"s1","actions":[]}'


def mock_client(script: Script, delays: list[float] | None = None, **changes: Any) -> StreamClient:
    async def sleep(seconds: float) -> None:
        if delays is not None:
            delays.append(seconds)

    values: dict[str, Any] = {"idle_timeout": 2.0, "jitter": 0.0, **changes}
    return StreamClient(
        StreamConfig("http://connector.test", "p", "tok", **values),
        transport=httpx.MockTransport(script),
        sleep=sleep,
    )


async def test_5xx_and_non_sse_answers_are_retried_with_doubling_delays() -> None:
    script = Script(
        status(503),
        status(502),
        status(200, "text/html"),
        sse(b"id: 1\ndata: " + ACTIONS + b"\n\n"),
    )
    delays: list[float] = []
    events = await collect(mock_client(script, delays), 1)
    assert ids(events) == [1]
    assert delays == [1.0, 2.0, 4.0]


async def test_backoff_resets_after_a_successful_read() -> None:
    dropping = sse(b"id: 1\ndata: " + ACTIONS + b"\n\n")
    script = Script(dropping, status(500), dropping, dropping)
    delays: list[float] = []
    await collect(mock_client(script, delays), 3)
    # after a read the next delay is the base again; a failure in between doubles it
    assert delays == [1.0, 2.0, 1.0]


async def test_retry_field_sets_the_delay_and_last_event_id_is_sent() -> None:
    script = Script(
        sse(b"retry: 250\n\nid: 41\ndata: " + ACTIONS + b"\n\n"),
        sse(b"id: 42\ndata: " + ACTIONS + b"\n\n"),
    )
    delays: list[float] = []
    events = await collect(mock_client(script, delays), 2)
    assert ids(events) == [41, 42]
    assert delays == [0.25]
    assert "last-event-id" not in script.requests[0].headers
    assert script.requests[1].headers["last-event-id"] == "41"
    assert script.requests[0].headers["authorization"] == "Bearer tok"
    assert script.requests[0].headers["accept"] == "text/event-stream"


async def test_heartbeats_empty_frames_gaps_and_unknown_types() -> None:
    body = (
        b": comment\n\nevent: heartbeat\ndata:\n\nid: 3\ndata:\n\n"
        b'event: gap\ndata: {"type":"gap","requested_id":"3","oldest_id":"9","missed":5}\n\n'
        b'id: 9\ndata: {"type":"mystery"}\n\nid: 10\ndata: ' + ACTIONS + b"\n\n"
    )
    client = mock_client(Script(sse(body)))
    events = await collect(client, 4, keep=lambda e: True)
    assert [type(e) for e in events] == [HeartbeatEvent, GapEvent, UnknownEvent, PayloadEvent]
    s = client.stats
    assert (s.heartbeats, s.empty, s.gaps, s.missed, s.unknown) == (1, 1, 1, 5, 1)
    assert s.last_event_id == "10"


async def test_comments_alone_keep_the_connection_alive() -> None:
    # 0.5 s of comments every 0.05 s with a 0.2 s watchdog: no stall; then silence: a stall.
    keepalive: list[bytes | float] = []
    for _ in range(10):
        keepalive += [b": ka\n\n", 0.05]
    script = Script(
        sse(*keepalive, b"id: 1\ndata: " + ACTIONS + b"\n\n", 5.0),
        sse(b"id: 2\ndata: " + ACTIONS + b"\n\n"),
    )
    client = mock_client(script, [], idle_timeout=0.2)
    events = await collect(client, 2)
    assert ids(events) == [1, 2]
    assert client.stats.stalls == 1


async def test_a_silent_server_head_counts_as_a_stall() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        raise AssertionError("unreachable")

    script = Script(sse(b"id: 1\ndata: " + ACTIONS + b"\n\n"))
    transport = httpx.MockTransport(hang)
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return await transport.handle_async_request(request)  # type: ignore[no-any-return]
        return script(request)

    async def sleep(seconds: float) -> None:
        return None

    client = StreamClient(
        StreamConfig("http://c.test", "p", "tok", idle_timeout=0.2),
        transport=httpx.MockTransport(handler),
        sleep=sleep,
    )
    events = await collect(client, 1, timeout=5)
    assert ids(events) == [1] and client.stats.stalls == 1


async def test_403_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="403"):
        await collect(mock_client(Script(status(403))), 1)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 400), max_size=12), crlf=st.booleans())
def test_any_chunking_of_the_bytes_gives_the_same_events(cuts: list[int], crlf: bool) -> None:
    frames = b"".join(
        b"id: %d\nevent: actions\ndata: %s\n\n" % (i, ACTIONS)
        if i % 3
        else b": keep-alive\n\nevent: heartbeat\ndata:\n\n"
        for i in range(1, 10)
    )
    if crlf:
        frames = frames.replace(b"\n", b"\r\n")
    chunks: list[bytes | float] = []
    start = 0
    for cut in sorted(set(cuts)):
        chunks.append(frames[start:cut])
        start = cut
    chunks.append(frames[start:])
    client = mock_client(Script(sse(*[c for c in chunks if c])))
    events = asyncio.run(collect(client, 9, keep=lambda e: True))
    assert [type(e).__name__ for e in events] == [
        "HeartbeatEvent" if i % 3 == 0 else "PayloadEvent" for i in range(1, 10)
    ]
    assert ids([e for e in events if isinstance(e, PayloadEvent)]) == [1, 2, 4, 5, 7, 8]
    assert client.stats.bytes_received == len(frames)


async def test_one_list_per_network_read_and_resume_after_an_id_only_frame() -> None:
    frame = b"id: %d\ndata: " + ACTIONS + b"\n\n"
    script = Script(
        sse(
            (frame % 1) + (frame % 2) + (frame % 3)[:10],  # a frame split across reads
            (frame % 3)[10:] + b": keep-alive\n\n",  # a read that completes one frame
            b"id: 7\n\n",  # an id alone: dispatches nothing, still a resume point
        ),
        sse(frame % 8),
    )
    client = mock_client(script)
    batches = client.batches()
    got = [[e.id for e in await batches.__anext__()] for _ in range(3)]
    await batches.aclose()
    assert got == [["1", "2"], ["3"], ["8"]]
    assert script.requests[1].headers["last-event-id"] == "7"


async def test_an_empty_id_field_clears_the_resume_point_and_ids_carry_across_connections() -> None:
    """WHATWG: `id:` with no value resets the last event id (no Last-Event-ID is sent);
    a connection whose events carry no id keeps the previous resume point."""
    data = b"data: " + ACTIONS + b"\n\n"
    script = Script(
        sse(b"id: 5\n" + data),
        sse(data),  # no id here: the resume point is still 5
        sse(b"id:\n" + data),  # an explicit reset
        sse(data),
    )
    events = await collect(mock_client(script), 4)
    assert len(events) == 4
    assert [r.headers.get("last-event-id") for r in script.requests] == [None, "5", "5", None]


async def test_a_redirect_loop_is_a_connection_failure_not_a_crash() -> None:
    loop = Script(lambda request: httpx.Response(302, headers={"location": str(request.url)}))
    with pytest.raises(ServiceUnavailableError, match="redirect"):
        await collect(mock_client(loop, max_retries=0), 1)


# -- what a user is told, and what a peer cannot make the client do ------------------------


class RawServer:
    """A real HTTP server on 127.0.0.1 answering every GET with *status*, *ctype* and *body*."""

    def __init__(self, status: int, ctype: str, body: bytes) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


async def no_wait(seconds: float) -> None:
    pass


@pytest.mark.parametrize("peer", ["closed port", "web page"])
async def test_after_a_few_failures_the_url_and_the_answer_are_named(peer: str) -> None:
    server = None
    if peer == "closed port":
        base, said = f"http://127.0.0.1:{closed_port()}", "cannot connect"
    else:
        server = RawServer(200, "text/html", b"<html><title>Grafana</title> Welcome</html>")
        base, said = server.url, "answered with text/html, not an event stream saying '<html>"
    notices: list[Notice] = []
    client = StreamClient(
        StreamConfig(base, "p", "tok_secret_value", max_retries=4, jitter=0.0),
        sleep=no_wait,
        on_notice=notices.append,
    )
    try:
        with pytest.raises(ServiceUnavailableError, match=said):
            await collect(client, 1)
    finally:
        if server is not None:
            server.close()
    hints = [n.message for n in notices if n.kind == "hint"]
    assert len(hints) == 1, notices  # once, after the third failure in a row
    assert hints[0].startswith(f"no event stream from {base}/stream/p after 3 attempts")
    assert said in hints[0] and "`connector_url`" in hints[0]
    assert [n.kind for n in notices].index("hint") == 2


async def test_a_huge_error_body_is_read_only_as_far_as_the_cap() -> None:
    from autoplay_cli.stream.client import ERROR_BODY_LIMIT

    pulled: list[int] = []

    async def endless_page() -> AsyncIterator[bytes]:
        while True:
            pulled.append(1)
            yield b"<p>" + b"x" * (64 * 1024)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/moved"):
            return httpx.Response(
                500, headers={"content-type": "text/html"}, content=endless_page()
            )
        # A redirect's body is read by httpx before it follows: capped as well.
        return httpx.Response(
            302, headers={"location": "/moved", "content-type": "text/html"}, content=endless_page()
        )

    client = StreamClient(
        StreamConfig("http://connector.test", "p", "tok", max_retries=1),
        transport=httpx.MockTransport(answer),
        sleep=no_wait,
    )
    with pytest.raises(
        ServiceUnavailableError, match=r"HTTP 500 from http://connector.test/moved saying '<p>xxx"
    ):
        await collect(client, 1)
    # Two connections, each reading a redirect body and an error body: a few chunks each.
    assert len(pulled) <= 4 * (ERROR_BODY_LIMIT // (64 * 1024) + 1)


def at_least(status: int, retry_after: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(
        status, headers={"content-type": "text/plain", "retry-after": retry_after}
    )


async def test_retry_after_is_honoured_on_429_and_503_within_a_limit() -> None:
    import email.utils
    import time

    from autoplay_cli.stream.backoff import SERVER_DELAY_LIMIT

    soon = email.utils.formatdate(time.time() + 20, usegmt=True)
    script = Script(
        at_least(429, "7"),
        at_least(503, soon),
        at_least(503, "99999999999"),
        at_least(500, "50"),  # only 429 and 503 carry a meaningful Retry-After
        at_least(429, "not a number"),
        sse(b"id: 1\ndata: " + ACTIONS + b"\n\n"),
    )
    delays: list[float] = []
    await collect(mock_client(script, delays, max_backoff=30.0), 1)
    assert delays[0] == 7.0
    assert 15 <= delays[1] <= 21
    assert delays[2] == SERVER_DELAY_LIMIT
    assert delays[3] == 8.0 and delays[4] == 16.0  # the backoff's own doubling


async def test_a_huge_server_retry_is_clamped_so_max_retries_ends_the_run() -> None:
    from autoplay_cli.stream.backoff import SERVER_DELAY_LIMIT

    script = Script(sse(b"retry: 99999999999999999999\n\n"), status(500))
    delays: list[float] = []
    with pytest.raises(ServiceUnavailableError):
        await collect(mock_client(script, delays, max_retries=3), 1)
    assert delays and max(delays) <= SERVER_DELAY_LIMIT


async def test_an_id_no_header_can_carry_restarts_without_it_and_reports_a_gap() -> None:
    script = Script(
        sse("id: café\ndata: ".encode() + ACTIONS + b"\n\n"),
        sse(b"id: 7\ndata: " + ACTIONS + b"\n\n"),
    )
    notices: list[Notice] = []
    client = mock_client(script, [])
    client._on_notice = notices.append
    events = await collect(client, 2)
    assert [e.id for e in events] == ["café", "7"]
    assert "last-event-id" not in script.requests[1].headers
    gaps = [n.message for n in notices if n.kind == "gap"]
    assert len(gaps) == 1 and "cannot resume after id 'café'" in gaps[0]
    assert client.stats.gaps == 1


def test_a_resume_id_no_header_can_carry_is_refused_up_front() -> None:
    from autoplay_cli.errors import ConfigError

    for bad in ("é", "a\x01b", " 42"):
        with pytest.raises(ConfigError, match="cannot be sent in an HTTP header"):
            StreamConfig("http://h", "p", "tok", last_event_id=bad)


async def test_credentials_in_the_connector_url_are_masked_in_every_message() -> None:
    notices: list[Notice] = []
    client = StreamClient(
        StreamConfig(
            f"http://admin:hunter2pw@127.0.0.1:{closed_port()}/x?password=sesame42",
            "p",
            "tok",
            max_retries=3,
        ),
        sleep=no_wait,
        on_notice=notices.append,
    )
    with pytest.raises(ServiceUnavailableError) as err:
        await collect(client, 1)
    text = err.value.one_line() + "".join(n.message for n in notices)
    assert "hunter2pw" not in text and "sesame42" not in text
    assert "admin:****@" in text and "password=****" in text


def test_blocking_iteration_leaves_no_generator_unclosed(make_emulator: Any) -> None:
    """3.13 warned that httpx's byte iterator's aclose() was never awaited."""
    import gc
    import warnings

    emu = make_emulator(rate=0, max_events=5, retry_ms=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = StreamClient(config_for(emu))
        got = []
        for event in client.iter_events():
            if isinstance(event, PayloadEvent):
                got.append(event)
                if len(got) == 2:
                    break
        del client
        gc.collect()
    assert len(got) == 2
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [
        str(w.message) for w in caught
    ]


async def test_an_oversize_frame_from_a_real_peer_is_skipped_and_counted_as_malformed() -> None:
    big = b'id: 1\ndata: {"type":"actions","pad":"' + b"x" * 5000 + b'"}\n\n'
    body = big + b"id: 2\ndata: " + ACTIONS + b"\n\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"content-length: %d\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    notices: list[Notice] = []
    try:
        config = StreamConfig(
            f"http://127.0.0.1:{port}", "p1", "tok", max_frame_size=1024, max_retries=0, **FAST
        )
        client = StreamClient(config, on_notice=notices.append)
        events = await collect(client, 1)
    finally:
        server.close()
        await server.wait_closed()
    assert [e.id for e in events] == ["2"]
    assert client.stats.malformed == 1
    assert any(n.kind == "malformed" and "over 1024" in n.message for n in notices)
