"""What ``autoplay tail`` does, minus the rendering: sources, filters, stop conditions.

A source (the live stream or a recording) yields lists of envelopes (one list per
network read); the runner records, filters, hands each shown event to a sink,
forwards it, and keeps a summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import Counter
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol, cast

from autoplay_cli.recording import RecordedEvent, RecordingWriter, iter_recording
from autoplay_cli.stream.client import Notice, StreamClient, StreamConfig, StreamStats
from autoplay_cli.stream.forward import Forwarder, ForwardResult
from autoplay_cli.wire import ActionsView, PayloadEvent, PayloadView, warm_up

GLOB_CHARS = frozenset("*?[")


class PayloadFilter:
    """``--session/--user/--email/--type/--url``; all given criteria must hold.

    Summaries carry no user, email or URL: a summary passes ``--user``/``--email``
    when its session was already seen with that user/email, and never passes ``--url``.
    ``--url`` is a glob when it contains ``*``, ``?`` or ``[``, a substring otherwise,
    matched against each action's canonical URL (one matching action is enough).
    """

    def __init__(
        self,
        *,
        sessions: frozenset[str] = frozenset(),
        user: str | None = None,
        email: str | None = None,
        type: str | None = None,
        url: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.user = user
        self.email = email
        self.type = type
        self.url = url
        self._url_is_glob = bool(url and GLOB_CHARS & set(url))
        self._identified: set[str] = set()  # sessions seen with the wanted user/email

    @property
    def active(self) -> bool:
        return bool(self.sessions or self.user or self.email or self.type or self.url)

    def __call__(self, payload: PayloadView) -> bool:
        if self.type and payload.type != self.type:
            return False
        if self.sessions and payload.session_id not in self.sessions:
            return False
        if (self.user or self.email) and not self._identity_matches(payload):
            return False
        if self.url:
            if payload.type != "actions":
                return False
            actions = cast(ActionsView, payload).actions
            return any(self._url_matches(a.canonical_url) for a in actions)
        return True

    def _identity_matches(self, view: PayloadView) -> bool:
        if view.type == "actions":
            payload = cast(ActionsView, view)
            users = {payload.user_id, *(a.user_id for a in payload.actions)}
            emails = {payload.email, *(a.email for a in payload.actions)}
            hit = (not self.user or self.user in users) and (not self.email or self.email in emails)
            if hit and payload.session_id:
                self._identified.add(payload.session_id)
            return hit
        return view.session_id in self._identified

    def _url_matches(self, url: str) -> bool:
        assert self.url is not None
        return fnmatchcase(url, self.url) if self._url_is_glob else self.url in url


@dataclass
class TailSummary:
    """What happened during one tail; printed on stderr at exit."""

    received: Counter[str] = field(default_factory=Counter)
    shown: Counter[str] = field(default_factory=Counter)
    sessions: set[str] = field(default_factory=set)
    stream: StreamStats | None = None
    forward_ok: int = 0
    forward_failed: int = 0
    forwarding: bool = False
    stop_reason: str = "interrupted"

    def describe(self) -> str:
        """One or two plain-text lines."""
        total = sum(self.shown.values())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.shown.items())) or "none"
        parts = [f"{total} events shown ({kinds})"]
        received = sum(self.received.values())
        if received != total:
            parts.append(f"{received} received")
        parts.append(f"{len(self.sessions)} session{'s' * (len(self.sessions) != 1)}")
        s = self.stream
        if s is not None:
            parts.append(f"{s.reconnects} reconnect{'s' * (s.reconnects != 1)}")
            gap = f"{s.gaps} gap{'s' * (s.gaps != 1)}"
            parts.append(gap + (f" ({s.missed} events lost)" if s.missed else ""))
            parts.append(f"{s.malformed} malformed, {s.unknown} unknown frames")
            if s.stalls:
                parts.append(f"{s.stalls} stalled connection{'s' * (s.stalls != 1)}")
        if self.forwarding:
            parts.append(f"forwarded {self.forward_ok}, forward failures {self.forward_failed}")
        return "tail: " + " · ".join(parts) + f" — stopped: {self.stop_reason}"


class TailSink(Protocol):
    """Where the runner sends things; the CLI renders them."""

    def event(self, event: PayloadEvent) -> None: ...
    def flush(self) -> None: ...
    def notice(self, notice: Notice) -> None: ...
    def forwarded(self, event: PayloadEvent, result: ForwardResult) -> None: ...


@dataclass
class TailRequest:
    """Everything one ``autoplay tail`` run needs, already validated by the caller."""

    config: StreamConfig | None = None  # live stream, or
    replay: Path | None = None  # a recording to read instead
    speed: float = 0.0
    filter: PayloadFilter = field(default_factory=PayloadFilter)
    count: int | None = None
    until_idle: float | None = None
    max_time: float | None = None
    record: Path | None = None
    forward_to: str | None = None
    forward_secret: str | None = field(default=None, repr=False)


async def live_events(client: StreamClient) -> AsyncIterator[list[PayloadEvent]]:
    """The payload events of a live stream, one list per network read.

    Every event of a list carries the time of the read that brought it.
    """
    batches = client.batches()
    try:
        async for batch in batches:
            got = [e for e in batch if type(e) is PayloadEvent]
            if got:
                yield got
    finally:
        await batches.aclose()


async def one_by_one(events: AsyncIterable[RecordedEvent]) -> AsyncIterator[list[RecordedEvent]]:
    """Adapt a source of single events to :func:`run` (replay keeps its pacing per event)."""
    try:
        async for event in events:
            yield [event]
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


async def replay_events(
    path: Path,
    speed: float = 0.0,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    before_wait: Callable[[], None] | None = None,
) -> AsyncIterator[RecordedEvent]:
    """The envelopes of a recording; *speed* 1 keeps the original pace, 0 does not wait.

    *before_wait* runs before each pause, and every 256 events when there is none
    (so a sink that buffers output writes it out regularly).
    """
    previous: float | None = None
    for number, event in enumerate(iter_recording(path), start=1):
        if speed > 0 and previous is not None and event.received_at > previous:
            if before_wait is not None:
                before_wait()
            await sleep((event.received_at - previous) / speed)
        elif before_wait is not None and number % 256 == 0:
            before_wait()
        previous = event.received_at
        yield event


async def run(
    events: AsyncIterator[Sequence[PayloadEvent]],
    request: TailRequest,
    sink: TailSink,
    summary: TailSummary,
    *,
    forwarder: Forwarder | None = None,
) -> TailSummary:
    """Consume *events* (lists of envelopes) until the source ends or a stop condition holds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    hard_stop = started + request.max_time if request.max_time else None
    last_shown = started
    wanted = request.filter
    filtering = wanted.active
    recorder = RecordingWriter(request.record) if request.record else None

    def deadline() -> float | None:
        idle = last_shown + request.until_idle if request.until_idle else None
        both = [d for d in (hard_stop, idle) if d is not None]
        return min(both) if both else None

    shown = 0
    count = request.count
    # Nothing to filter, record or forward: every event received is shown, and one
    # counter serves as both tallies.
    plain = not filtering and recorder is None and forwarder is None
    if plain:
        summary.received = summary.shown
    received, shown_by, sessions = summary.received, summary.shown, summary.sessions
    show = sink.event
    try:
        async with asyncio.timeout(deadline()) as scope:
            async for batch in events:
                before = shown
                # The hot loops of `tail`: one pass over every event of a network read.
                if plain:
                    for event in batch:
                        view = event.view
                        shown_by[view.type] += 1
                        if view.session_id:
                            sessions.add(view.session_id)
                        show(event)
                        shown += 1
                        if shown == count:
                            break
                else:
                    for event in batch:
                        payload = event.view
                        kind = payload.type
                        received[kind] += 1
                        if recorder is not None:
                            recorder.write(event)
                        if filtering and not wanted(payload):
                            continue
                        shown += 1
                        shown_by[kind] += 1
                        if payload.session_id:
                            sessions.add(payload.session_id)
                        show(event)
                        if forwarder is not None:
                            result = await forwarder.forward(event.json)
                            summary.forward_ok = forwarder.ok
                            summary.forward_failed = forwarder.failed
                            sink.forwarded(event, result)
                        if count is not None and shown >= count:
                            break
                    if recorder is not None:
                        recorder.flush()  # this read's events are in the file before the next
                if count is not None and shown >= count:
                    summary.stop_reason = f"--count {count} reached"
                    break
                if request.until_idle and shown > before:
                    last_shown = loop.time()
                    scope.reschedule(deadline())
            else:
                summary.stop_reason = "end of input"
    except TimeoutError:
        if not scope.expired():
            raise
        summary.stop_reason = (
            f"--max-time {request.max_time:g} s reached"
            if hard_stop is not None and loop.time() >= hard_stop
            else f"idle for --until-idle {request.until_idle:g} s"
        )
    finally:
        sink.flush()
        if recorder is not None:
            recorder.close()
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    return summary


def tail(
    request: TailRequest,
    sink: TailSink,
    summary: TailSummary,
    *,
    clock: Callable[[], float] = time.time,
) -> TailSummary:
    """Run one tail to completion (blocking); *summary* is filled in even on Ctrl-C.

    Garbage-collector settings for the run (restored afterwards): the objects
    alive at the start (modules, models, the payload validator, built first) are
    frozen out of the collector's generations, since rescanning them every few
    thousand events is pure cost; and the young generation is collected every
    20 000 allocations rather than 700, so an event's short-lived objects are
    mostly freed by reference counting before any collection sees them.

    Network reads of up to 256 KiB instead of httpcore's 64 KiB, for the run too:
    asyncio already receives 256 KiB at a time, and anyio re-slices (copies) what
    is left of it for each smaller read; a busy stream spent half its read cost there.
    """
    warm_up()
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, *threshold[1:])
    try:
        with _large_reads():
            return asyncio.run(_tail(request, sink, summary, clock))
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@contextlib.contextmanager
def _large_reads(size: int = 256 * 1024) -> Iterator[None]:
    """httpcore's read size (a class attribute of its HTTP/1.1 connection) raised meanwhile."""
    import httpcore

    connection = httpcore.AsyncHTTP11Connection
    before = getattr(connection, "READ_NUM_BYTES", None)
    if not isinstance(before, int) or before >= size:
        yield  # an httpcore that reads differently: leave it alone
        return
    connection.READ_NUM_BYTES = size  # type: ignore[attr-defined]
    try:
        yield
    finally:
        connection.READ_NUM_BYTES = before  # type: ignore[attr-defined]


async def _tail(
    request: TailRequest, sink: TailSink, summary: TailSummary, clock: Callable[[], float]
) -> TailSummary:
    forwarder = None
    if request.forward_to:
        forwarder = Forwarder(request.forward_to, request.forward_secret)
        summary.forwarding = True
    source: AsyncIterator[Sequence[PayloadEvent]]
    try:
        if request.replay is not None:
            source = one_by_one(
                replay_events(request.replay, request.speed, before_wait=sink.flush)
            )
        else:
            assert request.config is not None
            client = StreamClient(
                request.config, on_notice=sink.notice, before_read=sink.flush, clock=clock
            )
            summary.stream = client.stats
            source = live_events(client)
        return await run(source, request, sink, summary, forwarder=forwarder)
    finally:
        if forwarder is not None:
            await forwarder.aclose()
