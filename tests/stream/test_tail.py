"""The tail runner without a terminal: filters, stop conditions, recording, replay pacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.recording import RecordedEvent, iter_recording
from autoplay_cli.stream.client import Notice
from autoplay_cli.stream.forward import ForwardResult
from autoplay_cli.stream.tail import (
    PayloadFilter,
    TailRequest,
    TailSummary,
    replay_events,
    run,
)
from autoplay_cli.wire import PayloadEvent, parse_payload


def actions(
    session: str | None,
    user: str | None = None,
    email: str | None = None,
    urls: tuple[str, ...] = ("/dashboard",),
) -> Any:
    return parse_payload(
        {
            "type": "actions",
            "product_id": "p",
            "session_id": session,
            "user_id": user,
            "email": email,
            "actions": [{"type": "click", "canonical_url": u} for u in urls],
        }
    )


def summary(session: str) -> Any:
    return parse_payload(
        {
            "type": "summary",
            "product_id": "p",
            "session_id": session,
            "summary": "did things",
            "replaces": 3,
        }
    )


def test_session_type_and_url_filters() -> None:
    a = actions("s1", urls=("/projects/:id/board", "/dashboard"))
    assert PayloadFilter(sessions=frozenset({"s1", "s2"}))(a)
    assert not PayloadFilter(sessions=frozenset({"s2"}))(a)
    assert PayloadFilter(type="actions")(a) and not PayloadFilter(type="summary")(a)
    assert PayloadFilter(url="/projects")(a)  # substring
    assert PayloadFilter(url="/projects/*/board")(a)  # glob
    assert not PayloadFilter(url="/projects/*/settings")(a)
    assert not PayloadFilter(url="/projects")(summary("s1"))
    assert not PayloadFilter().active and PayloadFilter(user="u").active


def test_user_filter_follows_a_session_into_its_summaries() -> None:
    f = PayloadFilter(user="u1")
    assert not f(summary("s1"))  # not seen yet
    assert f(actions("s1", user="u1"))
    assert not f(actions("s2", user="u2"))
    assert f(summary("s1")) and not f(summary("s2"))
    g = PayloadFilter(email="a@x.example")
    assert g(
        parse_payload(
            {
                "type": "actions",
                "session_id": "s3",
                "actions": [{"type": "click", "email": "a@x.example"}],
            }
        )
    )


class Sink:
    def __init__(self) -> None:
        self.events: list[PayloadEvent] = []
        self.flushes = 0

    def event(self, event: PayloadEvent) -> None:
        self.events.append(event)

    def flush(self) -> None:
        self.flushes += 1

    def notice(self, notice: Notice) -> None:
        pass

    def forwarded(self, event: PayloadEvent, result: ForwardResult) -> None:
        pass


async def endless(
    gap: float = 0.0,
    stop_after: int | None = None,
    batch: int = 1,
) -> AsyncIterator[list[RecordedEvent]]:
    """Lists of *batch* events (as one network read brings them), then silence."""
    n = 0
    while stop_after is None or n < stop_after:
        events = []
        for _ in range(batch):
            n += 1
            events.append(RecordedEvent(str(n), float(n), actions(f"s{n % 3}")))
        yield events
        await asyncio.sleep(gap)
    await asyncio.sleep(3600)  # then silence


@pytest.mark.parametrize("batch", [1, 4])
async def test_count_stops_after_n_shown_events_even_inside_a_batch(batch: int) -> None:
    sink = Sink()
    req = TailRequest(filter=PayloadFilter(sessions=frozenset({"s1"})), count=3)
    result = await run(endless(batch=batch), req, sink, TailSummary())
    assert [e.id for e in sink.events] == ["1", "4", "7"]
    assert result.stop_reason == "--count 3 reached"
    assert sum(result.received.values()) == 7 and result.sessions == {"s1"}
    assert sink.flushes >= 1


async def test_until_idle_stops_once_the_stream_goes_quiet() -> None:
    sink = Sink()
    result = await run(endless(stop_after=4), TailRequest(until_idle=0.2), sink, TailSummary())
    assert len(sink.events) == 4 and result.stop_reason.startswith("idle")


async def test_max_time_stops_a_busy_stream() -> None:
    sink = Sink()
    result = await run(
        endless(gap=0.01), TailRequest(max_time=0.2, until_idle=5), sink, TailSummary()
    )
    assert result.stop_reason.startswith("--max-time") and sink.events


async def test_record_keeps_every_received_payload_even_filtered_out(tmp_path: Path) -> None:
    out = tmp_path / "rec.ndjson"
    req = TailRequest(filter=PayloadFilter(sessions=frozenset({"s2"})), count=2, record=out)
    sink = Sink()
    await run(endless(), req, sink, TailSummary())
    recorded = list(iter_recording(out))
    assert [r.id for r in recorded] == ["1", "2", "3", "4", "5"]
    assert [e.id for e in sink.events] == ["2", "5"]


async def test_replay_keeps_the_original_pace_scaled_by_speed(tmp_path: Path) -> None:
    from autoplay_cli.recording import RecordingWriter

    path = tmp_path / "r.ndjson"
    with RecordingWriter(path) as w:
        for i, t in enumerate((100.0, 101.0, 101.0, 104.0)):
            w.write(RecordedEvent(str(i), t, actions("s")))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    got = [e async for e in replay_events(path, 2.0, sleep=sleep)]
    assert [e.received_at for e in got] == [100.0, 101.0, 101.0, 104.0]
    assert waits == [0.5, 1.5]
    waits.clear()
    _ = [e async for e in replay_events(path, 0.0, sleep=sleep)]
    assert waits == []


def test_summary_text_names_every_counter() -> None:
    from autoplay_cli.stream.client import StreamStats

    s = TailSummary(
        stream=StreamStats(reconnects=2, gaps=1, missed=4, malformed=3, unknown=1),
        forwarding=True,
        forward_ok=5,
        forward_failed=1,
        stop_reason="x",
    )
    s.shown.update({"actions": 5, "summary": 1})
    s.received.update({"actions": 9, "summary": 1})
    s.sessions.update({"a", "b"})
    text = s.describe()
    for part in (
        "6 events shown (actions 5, summary 1)",
        "10 received",
        "2 sessions",
        "2 reconnects",
        "1 gap (4 events lost)",
        "3 malformed, 1 unknown",
        "forward failures 1",
        "stopped: x",
    ):
        assert part in text, part


@pytest.mark.parametrize("bad", ["{", '{"payload": {"type": "nope"}, "received_at": 1}'])
async def test_a_bad_recording_is_an_input_error(tmp_path: Path, bad: str) -> None:
    from autoplay_cli.errors import InputError

    path = tmp_path / "bad.ndjson"
    path.write_text(bad + "\n")
    with pytest.raises(InputError, match=r"bad\.ndjson:1"):
        _ = [e async for e in replay_events(path)]


def test_network_reads_are_larger_during_a_tail_and_restored_after() -> None:
    import httpcore

    from autoplay_cli.stream.tail import _large_reads

    def read_size() -> int:
        return int(httpcore.AsyncHTTP11Connection.READ_NUM_BYTES)  # type: ignore[attr-defined]

    before = read_size()
    with _large_reads(before * 4):
        assert read_size() == before * 4
    assert read_size() == before
    with _large_reads(before // 2):  # never made smaller
        assert read_size() == before


async def test_a_fast_replay_still_lets_the_sink_write_out_every_256_events(
    tmp_path: Path,
) -> None:
    from autoplay_cli.recording import RecordingWriter
    from autoplay_cli.stream.tail import replay_events

    path = tmp_path / "r.ndjson"
    with RecordingWriter(path) as w:
        for i in range(600):
            w.write(RecordedEvent(str(i), 100.0 + i, actions("s")))
    flushed_at: list[int] = []
    seen: list[object] = []
    async for event in replay_events(path, 0.0, before_wait=lambda: flushed_at.append(len(seen))):
        seen.append(event)
    assert len(seen) == 600 and flushed_at == [255, 511]


def test_envelope_writer_lines_equal_dumps_envelope_whatever_the_times() -> None:
    from autoplay_cli.recording import EnvelopeWriter, dumps_envelope

    events = [
        RecordedEvent(event_id, at, actions(f"s{i}"))
        for i, (event_id, at) in enumerate(
            [("1", 5.5), ("2", 5.5), (None, 7.25), ("é\n", 7.25), ("5", 1e-7), ("6", 5.5)]
        )
    ]
    writer = EnvelopeWriter()
    for event in events:
        writer.add(event)
    assert len(writer) == len(events)
    assert writer.take() == "".join(dumps_envelope(e) + "\n" for e in events)
    assert len(writer) == 0 and writer.take() == ""


async def test_each_read_is_in_the_recording_before_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson"
    lines_before_read: list[int] = []

    async def reads() -> AsyncIterator[list[RecordedEvent]]:
        for n in range(3):
            lines_before_read.append(len(path.read_text().splitlines()) if path.exists() else 0)
            yield [RecordedEvent(f"{n}.{i}", float(n), actions("s")) for i in range(4)]

    req = TailRequest(record=path, filter=PayloadFilter(sessions=frozenset({"nobody"})))
    result = await run(reads(), req, Sink(), TailSummary())
    assert lines_before_read == [0, 4, 8]  # filtered out, recorded all the same
    assert [e.id for e in iter_recording(path)] == [f"{n}.{i}" for n in range(3) for i in range(4)]
    assert sum(result.received.values()) == 12 and not result.shown
