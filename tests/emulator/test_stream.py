"""ProductStream without HTTP: ring buffer bounds, resume points, backpressure, gap frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from autoplay_cli.emulator.options import EmulatorOptions
from autoplay_cli.emulator.stream import ProductStream, gap_frame, render_frame


def counter(start: float) -> Iterator[dict[str, Any]]:
    n = 0
    while True:
        n += 1
        yield {
            "type": "actions",
            "product_id": "p",
            "actions": [],
            "count": 0,
            "forwarded_at": start + n,
        }


def make(**options: Any) -> ProductStream:
    opts = EmulatorOptions(**{"rate": 0, "start": 0.0, **options}).validated()
    return ProductStream("p", opts, counter, lambda: False)


def test_render_and_gap_frames() -> None:
    assert render_frame(7, "actions", "{}") == b"id: 7\nevent: actions\ndata: {}\n\n"
    body = gap_frame(3, 10).decode().split("data: ", 1)[1]
    assert json.loads(body) == {"type": "gap", "requested_id": "3", "oldest_id": "10", "missed": 6}


async def test_a_subscriber_that_falls_behind_the_ring_gets_a_gap() -> None:
    stream = make(rate=100_000, ring_size=16, max_events=100)
    stream.start()
    while not stream.finished:
        await asyncio.sleep(0.01)
    frames, next_id, gap = stream.read(1, 1000, 1 << 20)
    assert gap is not None and b'"missed":84' in gap
    assert len(frames) == 16 and next_id == 101
    assert frames[0].startswith(b"id: 85\n")


async def test_ring_memory_stays_bounded() -> None:
    stream = make(rate=1_000_000, ring_size=100, max_events=5000)
    stream.start()
    while not stream.finished:
        await asyncio.sleep(0.01)
    assert stream.next_id == 5001
    assert len(stream._frames) < 2 * 100 + 512 + 1
    assert stream.oldest_id == 4901


async def test_read_respects_byte_and_frame_caps() -> None:
    stream = make(rate=1_000_000, max_events=50)
    stream.start()
    while not stream.finished:
        await asyncio.sleep(0.01)
    frames, next_id, _ = stream.read(1, 5, 1 << 20)
    assert len(frames) == 5 and next_id == 6
    frames, _, _ = stream.read(1, 50, 1)
    assert len(frames) == 1  # at least one frame, however small the byte cap


async def test_unthrottled_production_waits_for_the_slowest_subscriber() -> None:
    stream = make(ring_size=20)
    chunks = stream.sse(None)
    await chunks.__anext__()  # subscribes: production starts
    for _ in range(20):
        await asyncio.sleep(0)
    assert stream.next_id - 1 <= 20  # not beyond one ring ahead of the reader
    got = await chunks.__anext__()
    assert got.startswith(b"id: 1\n")
    await chunks.aclose()  # type: ignore[attr-defined]
    stream.stop()


def test_resume_points() -> None:
    stream = make(ring_size=10)
    for n in range(1, 31):
        stream._publish(render_frame(n, "actions", "{}"))
    assert stream.resume_point(None).next_id == 31
    assert stream.resume_point("25").next_id == 26 and stream.resume_point("25").gap is None
    assert stream.resume_point("20").gap is None  # 21 is the oldest kept
    far = stream.resume_point("3")
    assert far.next_id == 21 and far.gap is not None and b'"missed":17' in far.gap
    assert stream.resume_point("31").next_id == 31
    assert stream.resume_point("x").next_id == 31
    assert stream.resume_point("²").next_id == 31  # a digit to isdigit(), not to int()


@given(ring=st.integers(1, 40), produced=st.integers(0, 200), requested=st.integers(0, 220))
def test_resume_never_duplicates_and_counts_every_lost_event(
    ring: int, produced: int, requested: int
) -> None:
    stream = make(ring_size=ring)
    for n in range(1, produced + 1):
        stream._publish(render_frame(n, "actions", "{}"))
    point = stream.resume_point(str(requested))
    frames, next_id, gap = stream.read(point.next_id, 10_000, 1 << 30)
    ids = [int(f.split(b"\n", 1)[0].removeprefix(b"id: ")) for f in frames]
    assert gap is None  # a fresh resume point is always inside the buffer
    assert next_id == produced + 1
    if requested >= produced:  # live (or from the future): nothing old
        assert ids == [] and point.gap is None
        return
    missed = json.loads(point.gap.split(b"data: ", 1)[1])["missed"] if point.gap else 0
    # Every event after `requested` is either delivered once, in order, or counted as missed.
    assert ids == list(range(requested + 1 + missed, produced + 1))
    assert len(ids) == min(ring, produced - requested)
