"""What ``autoplay tail`` does, minus the rendering: sources, filters, stop conditions.

A source (the live stream or a recording) yields lists of envelopes (one list per
network read); the runner records, filters, hands each shown event to a sink,
forwards it, and keeps a summary.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol, cast

from autoplay_cli.errors import AutoplayError, InputError
from autoplay_cli.recording import (
    RecordedEvent,
    RecordingError,
    RecordingWriter,
    iter_recording,
    parse_envelope_line,
)
from autoplay_cli.stream.client import Notice, StreamClient, StreamConfig, StreamStats
from autoplay_cli.stream.forward import Forwarder, ForwardResult
from autoplay_cli.wire import ActionsView, PayloadEvent, PayloadView, warm_up

GLOB_CHARS = frozenset("*?[")
#: Distinct sessions a run remembers: for the summary's count, and for ``--user``/``--email``
#: to follow a session into its summaries. Beyond it memory stays flat (see each use).
SESSION_MEMORY = 100_000
#: How much of an existing ``--record`` file's first line is read to see it is a recording.
RECORDING_PROBE = 32 * 1024 * 1024


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 event``, ``2 events`` (*many* for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


class PayloadFilter:
    """``--session/--user/--email/--type/--url``; all given criteria must hold.

    Summaries carry no user, email or URL: a summary passes ``--user``/``--email``
    when its session was seen with that user/email among the last
    :data:`SESSION_MEMORY` sessions that were, and never passes ``--url``.
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
        memory: int = SESSION_MEMORY,
    ) -> None:
        self.sessions = sessions
        self.user = user
        self.email = email
        self.type = type
        self.url = url
        self._url_is_glob = bool(url and GLOB_CHARS & set(url))
        # Sessions seen with the wanted user/email, oldest first: a dict keeps the order,
        # and the oldest is forgotten once there are *memory* of them.
        self._identified: dict[str, None] = {}
        self._memory = memory

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
                self._remember(payload.session_id)
            return hit
        return view.session_id in self._identified

    def _remember(self, session_id: str) -> None:
        known = self._identified
        known.pop(session_id, None)
        known[session_id] = None  # the most recent last
        if len(known) > self._memory:
            del known[next(iter(known))]

    def _url_matches(self, url: str) -> bool:
        assert self.url is not None
        return fnmatchcase(url, self.url) if self._url_is_glob else self.url in url


@dataclass
class TailSummary:
    """What happened during one tail; printed on stderr at exit.

    ``arrived`` counts the events the source delivered, ``handled`` those the runner
    dealt with (recorded, and shown and forwarded when they pass the filters); a
    stop condition met in the middle of a network read leaves the rest unhandled,
    and ``last_id`` is where ``--last-event-id`` resumes after the last handled one.
    """

    received: Counter[str] = field(default_factory=Counter)
    shown: Counter[str] = field(default_factory=Counter)
    sessions: set[str] = field(default_factory=set)
    sessions_capped: bool = False  # more than SESSION_MEMORY sessions: the count is a floor
    stream: StreamStats | None = None
    forward_ok: int = 0
    forward_failed: int = 0
    forwarding: bool = False
    stop_reason: str = "interrupted"
    arrived: int = 0
    handled: int = 0
    last_id: str | None = None

    @property
    def unhandled(self) -> int:
        return self.arrived - self.handled

    @property
    def resume_id(self) -> str | None:
        """The id to resume after: the stream's position when nothing was left unhandled."""
        if not self.unhandled and self.stream is not None:
            return self.stream.last_event_id
        return self.last_id

    def describe(self) -> str:
        """One plain-text line."""
        total = sum(self.shown.values())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.shown.items())) or "none"
        parts = [f"{plural(total, 'event')} shown ({kinds})"]
        received = sum(self.received.values())
        if received != total:
            parts.append(f"{received} received")
        sessions = plural(len(self.sessions), "session")
        parts.append(f"{len(self.sessions)}+ sessions" if self.sessions_capped else sessions)
        s = self.stream
        if s is not None:
            parts.append(plural(s.reconnects, "reconnect"))
            gap = plural(s.gaps, "gap")
            parts.append(gap + (f" ({plural(s.missed, 'event')} lost)" if s.missed else ""))
            parts.append(f"{s.malformed} malformed, {s.unknown} unknown frames")
            if s.stalls:
                parts.append(plural(s.stalls, "stalled connection"))
        if self.forwarding:
            parts.append(f"forwarded {self.forward_ok}, forward failures {self.forward_failed}")
        resume = self.resume_id
        if self.unhandled:
            where = (
                f"resume with `last_event_id` {resume}"
                if resume is not None
                else "no event id to resume from"
            )
            parts.append(f"{plural(self.unhandled, 'received event')} not handled ({where})")
        elif resume is not None:
            parts.append(f"last id {resume}")
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


class RecordTargetError(AutoplayError):
    """The ``--record`` path cannot take a recording (exit 1, like a failed write)."""


def open_recording(path: Path) -> RecordingWriter:
    """A writer appending to *path*, after checking it can only ever hold a recording.

    A missing directory or a path that cannot be appended to like a file (a FIFO,
    a directory, a socket) is a :class:`RecordTargetError`; an existing file whose
    first line is not an envelope, or whose last line is cut short, is an
    :class:`InputError`: appending to it would mix envelopes into something else.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        parent = path.parent
        if not parent.is_dir():
            raise RecordTargetError(
                f"cannot record to {path}: the directory {parent} does not exist",
                setting="record",
                hint="create it first, or pick another `record` file",
            ) from None
    except OSError as exc:
        raise RecordTargetError(
            f"cannot record to {path}: {exc.strerror}",
            setting="record",
            hint="pick another `record` file",
        ) from exc
    else:
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            # A character device (/dev/null) takes writes as a file does; a FIFO would
            # block until some reader opens it, a directory or socket cannot be appended to.
            what = "a directory" if stat.S_ISDIR(st.st_mode) else _file_kind(st.st_mode)
            raise RecordTargetError(
                f"cannot record to {path}: it is {what}, not a regular file",
                setting="record",
                hint="`record` appends envelopes to a file; to stream them elsewhere, "
                "use `autoplay tail --json` and a shell redirection or pipe",
            )
        if stat.S_ISREG(st.st_mode) and st.st_size:
            _check_is_recording(path)
    try:
        return RecordingWriter(path)
    except InputError as exc:
        raise RecordTargetError(exc.message, hint=exc.hint) from exc


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _check_is_recording(path: Path) -> None:
    refuse = InputError(
        f"{path} exists and is not a recording (its first line is not a tail envelope)",
        setting="record",
        hint="pick another `record` file; `record` only appends to its own recordings",
    )
    try:
        with path.open("rb") as fh:
            first = fh.readline(RECORDING_PROBE)
            while first and not first.strip():
                first = fh.readline(RECORDING_PROBE)
            fh.seek(-1, os.SEEK_END)
            last_byte = fh.read(1)
    except OSError as exc:
        raise RecordTargetError(
            f"cannot read {path} before appending to it: {exc.strerror}",
            setting="record",
            hint="pick another `record` file",
        ) from exc
    if not first.strip():
        return  # only blank lines: nothing to mix with
    if len(first) >= RECORDING_PROBE and not first.endswith(b"\n"):
        raise refuse  # a first line longer than any envelope
    try:
        parse_envelope_line(first.decode("utf-8"), where=f"{path}:1")
    except (InputError, UnicodeDecodeError):
        raise refuse from None
    if last_byte != b"\n":
        raise InputError(
            f"{path} ends in an incomplete line (a recording cut short?)",
            setting="record",
            hint="remove its last line, or pick another `record` file",
        )


async def run(
    events: AsyncIterator[Sequence[PayloadEvent]],
    request: TailRequest,
    sink: TailSink,
    summary: TailSummary,
    *,
    forwarder: Forwarder | None = None,
) -> TailSummary:
    """Consume *events* (lists of envelopes) until the source ends or a stop condition holds.

    Stop conditions are judged only between events: ``--until-idle`` and
    ``--max-time`` fire while the source is waited for, so every event already
    received is handled; only ``--count``, and ``--max-time`` during slow
    forwarding, stop in the middle of a read, and the summary then counts the
    events left and names the id to resume after.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    hard_stop = started + request.max_time if request.max_time else None
    idle = request.until_idle
    quiet_since = started  # idle time runs from here: the last read with a shown event
    wanted = request.filter
    filtering = wanted.active
    recorder = open_recording(request.record) if request.record else None

    shown = 0
    count = request.count
    # Nothing to filter, record or forward: every event received is shown, and one
    # counter serves as both tallies.
    plain = not filtering and recorder is None and forwarder is None
    if plain:
        summary.received = summary.shown
    received, shown_by, sessions = summary.received, summary.shown, summary.sessions
    add_session: Callable[[str], object] = sessions.add
    show = sink.event
    batch: Sequence[PayloadEvent] = ()
    done = 0  # events of `batch` handled so far
    cut = False  # --max-time met in the middle of a read
    try:
        while True:
            deadline = hard_stop
            if idle:
                deadline = min(quiet_since + idle, deadline or float("inf"))
            scope = None
            try:
                if deadline is None:
                    batch = await anext(events)
                else:
                    async with asyncio.timeout_at(deadline) as scope:
                        batch = await anext(events)
            except StopAsyncIteration:
                summary.stop_reason = "end of input"
                break
            except TimeoutError:
                if scope is None or not scope.expired():
                    raise
                summary.stop_reason = (
                    _max_time_reason(request)
                    if hard_stop is not None and loop.time() >= hard_stop
                    else f"idle for `until_idle` {idle:g} s"
                )
                break
            done = 0
            summary.arrived += len(batch)
            before = shown
            # The hot loops of `tail`: one pass over every event of a network read.
            if plain:
                for event in batch:
                    view = event.view
                    shown_by[view.type] += 1
                    if view.session_id:
                        add_session(view.session_id)
                    show(event)
                    shown += 1
                    if shown == count:
                        break
                done = shown - before
            else:
                for event in batch:
                    if forwarder is not None and hard_stop is not None and loop.time() >= hard_stop:
                        # Forwarding is slow enough to outlast --max-time within one read.
                        cut = True
                        break
                    payload = event.view
                    kind = payload.type
                    received[kind] += 1
                    if recorder is not None:
                        recorder.write(event)
                    if not filtering or wanted(payload):
                        shown += 1
                        shown_by[kind] += 1
                        if payload.session_id:
                            add_session(payload.session_id)
                        show(event)
                        if forwarder is not None:
                            result = await forwarder.forward(event.json)
                            summary.forward_ok = forwarder.ok
                            summary.forward_failed = forwarder.failed
                            sink.forwarded(event, result)
                    done += 1
                    if shown == count:
                        break
                if recorder is not None:
                    try:
                        recorder.flush()  # this read's events are in the file before the next
                    except RecordingError:
                        # Not in the file: the summary counts them as not handled, and
                        # names the last id the file has, where a resumed run starts.
                        done = 0
                        raise
            summary.handled += done
            if done:
                summary.last_id = batch[done - 1].id
            batch, done = (), 0
            if count is not None and shown >= count:
                summary.stop_reason = f"`count` {count} reached"
                break
            if len(sessions) >= SESSION_MEMORY and not summary.sessions_capped:
                # A long run meets sessions without end: stop remembering them.
                summary.sessions_capped = True
                add_session = _forget
            now = loop.time()
            if cut or (hard_stop is not None and now >= hard_stop):
                summary.stop_reason = _max_time_reason(request)
                break
            if shown > before:
                quiet_since = now
    finally:
        if done:  # left in the middle of a read (an error, or an interrupt while forwarding)
            summary.handled += done
            summary.last_id = batch[done - 1].id
        sink.flush()
        try:
            if recorder is not None:
                recorder.close()
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
    return summary


def _forget(session_id: str) -> None:
    """What :func:`run` adds sessions with once it remembers no more of them."""


def _max_time_reason(request: TailRequest) -> str:
    return f"`max_time` {request.max_time:g} s reached"


def tail(
    request: TailRequest,
    sink: TailSink,
    summary: TailSummary,
    *,
    clock: Callable[[], float] = time.time,
) -> TailSummary:
    """Run one tail to completion (blocking); *summary* is filled in even on Ctrl-C."""
    warm_up()
    return asyncio.run(_tail(request, sink, summary, clock))


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
            summary.last_id = request.config.last_event_id
            client = StreamClient(
                request.config, on_notice=sink.notice, before_read=sink.flush, clock=clock
            )
            summary.stream = client.stats
            source = live_events(client)
        return await run(source, request, sink, summary, forwarder=forwarder)
    finally:
        if forwarder is not None:
            await forwarder.aclose()
