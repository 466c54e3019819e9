"""The emulator's SSE stream over real HTTP on loopback: auth, ids, resume, gaps, faults."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from autoplay_cli.emulator.server import EmulatorOptions, run_in_thread
from autoplay_cli.wire import GapEvent, HeartbeatEvent, MalformedEvent, PayloadEvent, parse_event

FAST = {"rate": 0, "heartbeat_s": 0.2, "keepalive_s": 0.1, "start": 1_800_000_000.0}


def parsed(frames: list[Any]) -> list[Any]:
    return [parse_event(f.event, f.text, f.id) for f in frames]


def payloads(frames: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(f.text) for f in frames if f.event in ("actions", "summary")]


@pytest.mark.parametrize(
    ("token", "product", "status", "message"),
    [
        (None, None, 401, "missing bearer token"),
        ("uk_wrong", None, 401, "invalid stream key"),
        ("RIGHT", "nope", 404, "unknown product 'nope'"),
    ],
)
def test_auth_and_product_errors(
    make_emulator: Any, token: str | None, product: str | None, status: int, message: str
) -> None:
    emu = make_emulator(**FAST)
    url = f"{emu.url}/stream/{product or emu.product_id}"
    r = httpx.get(
        url,
        headers={"Authorization": f"Bearer {emu.token}"}
        if token == "RIGHT"
        else {"Authorization": f"Bearer {token}"}
        if token
        else {},
    )
    assert r.status_code == status
    assert r.json()["message"] == message


def test_key_of_another_product_is_forbidden(make_emulator: Any) -> None:
    emu = make_emulator(**FAST, create_keys=True)
    r = httpx.post(
        f"{emu.url}/products",
        json={
            "product_id": "other",
            "contact_email": "ops@acme.example",
            "webhook_secret": "s" * 32,
        },
    )
    other_key = r.json()["unkey_key"]
    r = httpx.get(emu.stream_url, headers={"Authorization": f"Bearer {other_key}"})
    assert r.status_code == 403


def test_ids_strictly_increase_and_every_frame_parses(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=300)
    read = sse(emu.stream_url, emu.token, stop_after=300)
    assert read.status == 200
    assert read.frames[0].retry == "1000"
    ids = [int(f.id) for f in read.data_frames()]
    assert ids == list(range(1, 301))
    events = parsed(read.data_frames())
    assert all(isinstance(e, PayloadEvent) for e in events)
    kinds = {e.type for e in events}
    assert kinds == {"actions", "summary"}
    assert all(e.event == e.type for e in events)  # `event:` names the payload type


def test_finite_traffic_then_heartbeats_and_keepalives(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=5)
    read = sse(emu.stream_url, emu.token, stop_on="heartbeat")
    assert [f.id for f in read.data_frames()] == ["1", "2", "3", "4", "5"]
    assert isinstance(parsed(read.frames[-1:])[0], HeartbeatEvent)
    assert "keep-alive" in read.comments


def test_sessions_option_serves_exactly_those_sessions(make_emulator: Any, sse: Any) -> None:
    from autoplay_cli.emulator import traffic

    emu = make_emulator(**FAST, sessions=3, seed=4)
    read = sse(emu.stream_url, emu.token, stop_on="heartbeat")
    expected = traffic.iter_payloads(
        seed=4, start=FAST["start"], product_id=emu.product_id, sessions=3
    )
    assert payloads(read.data_frames()) == list(expected)


def test_resume_after_drops_has_no_duplicate_and_no_gap(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=60, drop_every=7, seed=9)
    seen: list[Any] = []
    last: str | None = None
    connections = 0
    while len(seen) < 60:
        read = sse(emu.stream_url, emu.token, last_event_id=last, stop_after=60 - len(seen))
        connections += 1
        assert read.closed or len(seen) + len(read.data_frames()) == 60
        assert len(read.data_frames()) <= 7
        assert read.headers["connection"] == "close"  # the TCP connection goes too
        assert not [f for f in read.frames if f.event == "gap"]
        seen += read.data_frames()
        last = seen[-1].id
    assert connections == 9
    assert [int(f.id) for f in seen] == list(range(1, 61))
    reference = make_emulator(**FAST, max_events=60, seed=9)
    whole = sse(reference.stream_url, reference.token, stop_after=60)
    assert [(f.id, f.text) for f in seen] == [(f.id, f.text) for f in whole.data_frames()]


def test_gap_when_last_event_id_fell_out_of_the_ring(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=50, ring_size=10)
    assert len(sse(emu.stream_url, emu.token, stop_after=50).data_frames()) == 50
    read = sse(emu.stream_url, emu.token, last_event_id="5", stop_after=10)
    gap = [f for f in read.frames if f.event == "gap"]
    assert len(gap) == 1 and gap[0].id is None
    assert json.loads(gap[0].text) == {
        "type": "gap",
        "requested_id": "5",
        "oldest_id": "41",
        "missed": 35,
    }
    event = parsed(gap)[0]
    assert isinstance(event, GapEvent) and event.missed == 35
    assert [int(f.id) for f in read.data_frames()] == list(range(41, 51))


def test_resume_inside_the_ring_and_live_start(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=50, ring_size=10)
    sse(emu.stream_url, emu.token, stop_after=50)
    inside = sse(emu.stream_url, emu.token, last_event_id="45", stop_after=5)
    assert [f.id for f in inside.data_frames()] == ["46", "47", "48", "49", "50"]
    assert not [f for f in inside.frames if f.event == "gap"]
    for header in (None, "9999", "not-a-number"):  # live: nothing old, only heartbeats
        live = sse(emu.stream_url, emu.token, last_event_id=header, stop_on="heartbeat")
        assert live.data_frames() == []


def test_resume_from_zero_after_the_ring_rolled_over(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=40, ring_size=8)
    sse(emu.stream_url, emu.token, stop_after=40)
    read = sse(emu.stream_url, emu.token, last_event_id="0", stop_after=8)
    assert json.loads(read.frames[1].text) == {
        "type": "gap",
        "requested_id": "0",
        "oldest_id": "33",
        "missed": 32,
    }


def test_concurrent_subscribers_each_receive_every_event(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=200, wait_for_subscribers=3)
    results: list[Any] = [None] * 3

    def subscribe(n: int) -> None:
        results[n] = sse(emu.stream_url, emu.token, stop_after=200)

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    streams = [[(f.id, f.text) for f in r.data_frames()] for r in results]
    assert len(streams[0]) == 200
    assert streams[0] == streams[1] == streams[2]


def test_same_seed_same_traffic_other_seed_different(make_emulator: Any, sse: Any) -> None:
    runs = [make_emulator(**FAST, seed=s, max_events=40) for s in (21, 21, 22)]
    texts = [
        [f.text for f in sse(e.stream_url, e.token, stop_after=40).data_frames()] for e in runs
    ]
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_malformed_every(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=20, malformed_every=5)
    events = parsed(sse(emu.stream_url, emu.token, stop_after=20).data_frames())
    bad = [int(e.id) for e in events if isinstance(e, MalformedEvent)]  # type: ignore[arg-type]
    assert bad == [5, 10, 15, 20]
    assert all(isinstance(e, PayloadEvent) for e in events if int(e.id) not in bad)


def test_stall_after_sends_nothing_yet_keeps_the_connection(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, stall_after=4)
    read = sse(emu.stream_url, emu.token, read_timeout=1.0)
    # Heartbeats every 0.2 s would have arrived if the server were not stalled.
    assert read.timed_out and not read.closed
    assert [f.id for f in read.data_frames()] == ["1", "2", "3", "4"]
    assert not [f for f in read.frames if f.event == "heartbeat"]


def test_latency_delays_every_response(make_emulator: Any) -> None:
    emu = make_emulator(**FAST, latency_ms=300)
    began = time.monotonic()
    assert httpx.get(emu.stream_url).status_code == 401
    assert time.monotonic() - began >= 0.3  # a lower bound: sleep never returns early


def test_stops_cleanly_with_open_streams(sse: Any) -> None:
    with run_in_thread(EmulatorOptions(**FAST, stall_after=1)) as emu:  # type: ignore[arg-type]
        worker = threading.Thread(
            target=sse, args=(emu.stream_url, emu.token), kwargs={"read_timeout": 30}
        )
        worker.start()
        time.sleep(0.2)
        server_threads = [t for t in threading.enumerate() if emu.url in t.name]
        assert server_threads
    assert not any(t.is_alive() for t in server_threads)
    worker.join(timeout=10)
    assert not worker.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{emu.url}/healthz")


def test_two_emulators_get_different_free_ports(make_emulator: Any) -> None:
    a, b = make_emulator(), make_emulator()
    assert a.url != b.url and a.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{a.url}/healthz").json()["fake"] is True


def test_a_stalled_connection_does_not_hold_back_others(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST, max_events=2000, stall_after=3, ring_size=8)
    stalled = threading.Thread(
        target=sse, args=(emu.stream_url, emu.token), kwargs={"read_timeout": 20}
    )
    stalled.start()
    give_up = time.monotonic() + 10
    while not emu.emulator.streams or emu.emulator.streams[emu.product_id].next_id < 4:
        assert time.monotonic() < give_up, "the first subscriber never got its events"
        time.sleep(0.01)
    # A later subscriber resumes from id 3 again and again; it is never starved of events.
    last = "3"
    for _ in range(5):
        read = sse(emu.stream_url, emu.token, last_event_id=last, stop_after=3)
        assert [int(f.id) for f in read.data_frames()] == [int(last) + n for n in (1, 2, 3)]
        last = read.data_frames()[-1].id
    assert stalled.is_alive()  # still stalled, still open
