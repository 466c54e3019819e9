"""The tail runner without a terminal: filters, stop conditions, recording, replay pacing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
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
    assert result.stop_reason == "`count` 3 reached"
    assert sum(result.received.values()) == 7 and result.sessions == {"s1"}
    assert sink.flushes >= 1


async def test_until_idle_stops_once_the_stream_goes_quiet() -> None:
    sink = Sink()
    result = await run(endless(stop_after=4), TailRequest(until_idle=0.2), sink, TailSummary())
    assert len(sink.events) == 4 and result.stop_reason.startswith("idle")


async def test_max_time_stops_a_busy_stream() -> None:
    sink = Sink()
    loop = asyncio.get_running_loop()
    started = loop.time()
    # wait_for only keeps a broken stop condition from hanging the suite.
    result = await asyncio.wait_for(
        run(endless(gap=0.01), TailRequest(max_time=0.2), sink, TailSummary()), 10
    )
    assert result.stop_reason == "`max_time` 0.2 s reached" and sink.events
    assert loop.time() - started < 5


async def test_max_time_stops_a_silent_stream() -> None:
    result = await asyncio.wait_for(
        run(endless(stop_after=0), TailRequest(max_time=0.2), Sink(), TailSummary()), 10
    )
    assert result.stop_reason == "`max_time` 0.2 s reached"


async def test_until_idle_fires_when_no_event_matches_the_filters() -> None:
    """Events keep coming, none is for the wanted session: that is idle too."""
    sink = Sink()
    req = TailRequest(filter=PayloadFilter(sessions=frozenset({"nobody"})), until_idle=0.2)
    result = await asyncio.wait_for(run(endless(gap=0.01), req, sink, TailSummary()), 10)
    assert result.stop_reason == "idle for `until_idle` 0.2 s"
    assert not sink.events and sum(result.received.values()) > 5
    assert result.unhandled == 0


async def test_until_idle_on_a_silent_source() -> None:
    result = await asyncio.wait_for(
        run(endless(stop_after=0), TailRequest(until_idle=0.2), Sink(), TailSummary()), 10
    )
    assert result.stop_reason.startswith("idle")


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


def test_a_library_tail_changes_no_process_wide_state(tmp_path: Path) -> None:
    import gc

    import httpcore

    from autoplay_cli.recording import RecordingWriter
    from autoplay_cli.stream.tail import tail

    path = tmp_path / "r.ndjson"
    with RecordingWriter(path) as w:
        w.write(RecordedEvent("1", 1.0, actions("s")))
    read_size = getattr(httpcore.AsyncHTTP11Connection, "READ_NUM_BYTES", None)
    seen: list[tuple[object, ...]] = []

    class Watching(Sink):
        def event(self, event: RecordedEvent) -> None:  # type: ignore[override]
            seen.append((gc.get_threshold(), gc.get_freeze_count(), read_size_now()))
            super().event(event)

    def read_size_now() -> object:
        return getattr(httpcore.AsyncHTTP11Connection, "READ_NUM_BYTES", None)

    before = (gc.get_threshold(), gc.get_freeze_count(), read_size)
    tail(TailRequest(replay=path), Watching(), TailSummary())  # type: ignore[arg-type]
    assert seen == [before]


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


class SlowReceiver:
    """A real webhook receiver on 127.0.0.1 that answers each POST after *delay* seconds."""

    def __init__(self, delay: float) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies = self.bodies = []  # type: list[bytes]
        wait = delay

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(wait)
                bodies.append(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def slow_receiver() -> Iterator[SlowReceiver]:
    receiver = SlowReceiver(0.1)
    yield receiver
    receiver.close()


async def one_read(n: int) -> AsyncIterator[list[RecordedEvent]]:
    """*n* events in one network read, then silence."""
    yield [RecordedEvent(str(i), 5.0, actions(f"s{i % 7}")) for i in range(1, n + 1)]
    await asyncio.sleep(3600)


async def test_until_idle_never_cuts_a_read_short_however_slow_forwarding_is(
    slow_receiver: SlowReceiver, tmp_path: Path
) -> None:
    """Forwarding 30 events takes 3 s; idle (0.05 s) only counts time spent waiting."""
    from autoplay_cli.stream.forward import Forwarder

    sink = Sink()
    rec = tmp_path / "r.ndjson"
    req = TailRequest(until_idle=0.05, record=rec)
    forwarder = Forwarder(slow_receiver.url, None)
    try:
        result = await asyncio.wait_for(
            run(one_read(30), req, sink, TailSummary(forwarding=True), forwarder=forwarder), 60
        )
    finally:
        await forwarder.aclose()
    assert result.stop_reason == "idle for `until_idle` 0.05 s"
    assert len(sink.events) == 30 and len(slow_receiver.bodies) == 30
    assert len(list(iter_recording(rec))) == 30
    assert result.forward_ok == 30 and result.unhandled == 0
    assert "not handled" not in result.describe()


async def test_max_time_while_forwarding_accounts_for_every_event(
    slow_receiver: SlowReceiver, tmp_path: Path
) -> None:
    """1,000 events in one read, a receiver taking 0.1 s each, --max-time 1: nothing vanishes."""
    from autoplay_cli.stream.forward import Forwarder

    sink = Sink()
    rec = tmp_path / "r.ndjson"
    forwarder = Forwarder(slow_receiver.url, None)
    summary = TailSummary(forwarding=True)
    try:
        result = await asyncio.wait_for(
            run(
                one_read(1000),
                TailRequest(max_time=1, record=rec),
                sink,
                summary,
                forwarder=forwarder,
            ),
            30,
        )
    finally:
        await forwarder.aclose()
    handled = len(sink.events)
    assert result.stop_reason == "`max_time` 1 s reached"
    assert 0 < handled < 1000 and result.handled == handled
    assert len(slow_receiver.bodies) == handled == result.forward_ok
    assert [e.id for e in iter_recording(rec)] == [str(i) for i in range(1, handled + 1)]
    assert result.arrived == 1000 and result.unhandled == 1000 - handled
    assert result.last_id == str(handled)
    assert (
        f"{1000 - handled} received events not handled "
        f"(resume with `last_event_id` {handled})" in result.describe()
    )


async def test_count_reached_inside_a_read_names_the_events_left() -> None:
    sink = Sink()
    result = await run(one_read(10), TailRequest(count=4), sink, TailSummary())
    assert [e.id for e in sink.events] == ["1", "2", "3", "4"]
    assert result.unhandled == 6 and result.last_id == "4"
    assert "6 received events not handled (resume with `last_event_id` 4)" in result.describe()


def test_summary_speaks_in_singular_for_one() -> None:
    from autoplay_cli.stream.client import StreamStats

    s = TailSummary(stream=StreamStats(reconnects=1, gaps=1, missed=1, stalls=1), stop_reason="x")
    s.shown.update({"actions": 1})
    s.received.update({"actions": 1})
    s.sessions.add("a")
    text = s.describe()
    for part in (
        "1 event shown",
        "1 session ·",
        "1 reconnect ·",
        "1 gap (1 event lost)",
        "1 stalled connection ",
    ):
        assert part in text, (part, text)
    assert "events shown" not in text and "sessions" not in text


async def test_the_session_tally_stops_growing_on_a_long_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import autoplay_cli.stream.tail as tail_module

    monkeypatch.setattr(tail_module, "SESSION_MEMORY", 50)

    async def many() -> AsyncIterator[list[RecordedEvent]]:
        for n in range(40):
            yield [RecordedEvent(str(n), 1.0, actions(f"s{n}-{i}")) for i in range(10)]

    result = await run(many(), TailRequest(), Sink(), TailSummary())
    assert result.sessions_capped and 50 <= len(result.sessions) < 60
    assert sum(result.shown.values()) == 400
    assert f"{len(result.sessions)}+ sessions" in result.describe()


def test_the_user_filter_remembers_a_bounded_number_of_sessions() -> None:
    f = PayloadFilter(user="u1", memory=3)
    for n in range(5):
        assert f(actions(f"s{n}", user="u1"))
    assert not f(summary("s0")) and not f(summary("s1"))  # forgotten, the oldest first
    assert all(f(summary(f"s{n}")) for n in (2, 3, 4))


def test_recording_onto_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    from autoplay_cli.errors import InputError
    from autoplay_cli.stream.tail import open_recording

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(InputError, match=r"notes\.txt exists and is not a recording"):
        open_recording(notes)
    assert notes.read_text() == "my notes\n"
    cut = tmp_path / "cut.ndjson"
    cut.write_text(dumps_line("1") + dumps_line("2")[:-9])
    with pytest.raises(InputError, match="ends in an incomplete line"):
        open_recording(cut)
    good = tmp_path / "good.ndjson"
    good.write_text(dumps_line("1"))
    with open_recording(good) as writer:
        writer.write(RecordedEvent("2", 2.0, actions("s")))
    assert [e.id for e in iter_recording(good)] == ["1", "2"]
    empty = tmp_path / "empty.ndjson"
    empty.write_text("")
    open_recording(empty).close()


def test_recording_where_no_file_can_be_written_is_a_record_error(tmp_path: Path) -> None:
    import os

    from autoplay_cli.errors import EXIT_FAILURE
    from autoplay_cli.stream.tail import RecordTargetError, open_recording

    with pytest.raises(RecordTargetError, match=r"the directory .*nope does not exist") as missing:
        open_recording(tmp_path / "nope" / "r.ndjson")
    assert missing.value.exit_code == EXIT_FAILURE
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(RecordTargetError, match=r"it is a FIFO \(named pipe\)"):
        open_recording(fifo)  # and does not block waiting for a reader
    with pytest.raises(RecordTargetError, match="it is a directory"):
        open_recording(tmp_path)


def dumps_line(event_id: str) -> str:
    from autoplay_cli.recording import dumps_envelope

    return dumps_envelope(RecordedEvent(event_id, 1.0, actions("s"))) + "\n"
