"""What ``autoplay relay`` does, minus the rendering: wire the source, the relay core,
the store, the sender and the stop conditions together, and summarise the run.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoplay_cli.errors import ConfigError, InputError, UsageError
from autoplay_cli.relay.destinations import Destination, StdoutDestination, WebhookDestination
from autoplay_cli.relay.inbound import LOOPBACK, Health, Inbound, parse_listen, serve_task
from autoplay_cli.relay.metrics import RelayMetrics, snapshot
from autoplay_cli.relay.pipeline import Relay
from autoplay_cli.relay.sender import (
    DEFAULT_MAX_ATTEMPTS,
    DeadLetters,
    RetryPolicy,
    Sender,
    default_dead_letter_path,
)
from autoplay_cli.relay.store import MemoryRelayStore, RedisRelayStore, check_store_url
from autoplay_cli.simulate.clock import VirtualClock
from autoplay_cli.simulate.engine import DEFAULT_PULSE_S
from autoplay_cli.simulate.inputs import SimEvent
from autoplay_cli.triggers.config import TriggerConfig

log = logging.getLogger(__name__)

REPLAY_CHUNK = 256  # events per commit when replaying (a "network read")
TICK_S = 0.1  # how often a live relay looks for timeouts and notes falling due
SWEEP_S = 60.0


@dataclass
class RelayOptions:
    """Everything one ``autoplay relay`` run needs, as given on the command line."""

    to: str = "-"
    to_secret: str | None = field(default=None, repr=False)
    config: Path | None = None
    store: str = "memory"
    stream: Any = None  # a StreamConfig for a live run
    replay: Path | None = None
    product_id: str | None = None
    count: int | None = None
    max_time: float | None = None
    dry_run: bool = False
    dead_letter: Path | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    drain_timeout: float = 10.0
    pulse_s: float = DEFAULT_PULSE_S
    listen: str | None = None  # HOST:PORT for the inbound HTTP app; None: no listener
    api_key: str | None = field(default=None, repr=False)
    intercom_admin_id: str | None = None
    intercom_client_secret: str | None = field(default=None, repr=False)


@dataclass
class RelaySummary:
    """What one run did; printed at exit and read by the status line."""

    started: float = field(default_factory=time.time)
    stop_reason: str = "interrupted"
    signal: str | None = None
    relay: Relay | None = None
    sender: Sender | None = None
    stream: Any = None  # StreamStats of a live run
    undelivered: int = 0  # left in a durable outbox for the next start
    dead_letter_path: Path | None = None
    listening: str | None = None  # the inbound app's URL, once it serves
    health: Any = None
    # Ask a running relay to stop (as SIGTERM does), from any thread.
    request_stop: Callable[[], None] | None = field(default=None, repr=False)

    def describe(self) -> str:
        parts = []
        if self.relay is not None:
            c = self.relay.counters
            parts.append(f"{sum(c.events.values())} events")
            parts.append(f"{len(self.relay.store.sessions)} sessions")
            blocked = sum(c.blocked.values())
            parts.append(f"offers {c.offers} made, {blocked} blocked")
            parts.append(f"notes {c.notes}")
            if c.skipped_replayed:
                parts.append(f"{c.skipped_replayed} already applied (skipped)")
        if self.sender is not None:
            s = self.sender.stats
            parts.append(f"delivered {s.delivered}, retries {s.retries}, dead letters {s.dead}")
        if self.stream is not None:
            st = self.stream
            parts.append(f"{st.reconnects} reconnects, {st.gaps} gaps, {st.malformed} malformed")
        if self.undelivered:
            parts.append(f"{self.undelivered} queued in the outbox for the next start")
        text = "relay: " + " · ".join(parts) + f" — stopped: {self.stop_reason}"
        if self.sender is not None and self.sender.stats.dead and self.dead_letter_path:
            text += f"\nrelay: dead letters in {self.dead_letter_path}"
        return text


def resolve_config(path: Path | None, named_by_input: str | None = None) -> TriggerConfig:
    """The trigger config as ``simulate`` resolves it; a bad file is a config error (exit 3)."""
    from autoplay_cli.simulate.runner import RunOptions
    from autoplay_cli.simulate.runner import resolve_config as simulate_config

    try:
        return simulate_config(RunOptions(config=path), named_by_input)
    except InputError as exc:
        raise ConfigError(exc.message, hint=exc.hint, setting=exc.setting) from exc


def make_destination(options: RelayOptions) -> Destination:
    if options.dry_run or options.to == "-":
        return StdoutDestination()
    if options.to == "intercom":
        from autoplay_cli.relay.intercom import IntercomDestination

        return IntercomDestination(options.intercom_admin_id)
    return WebhookDestination(options.to, options.to_secret or "")


def make_store(
    options: RelayOptions, product_id: str, config: TriggerConfig, clock: VirtualClock
) -> MemoryRelayStore:
    url = check_store_url(options.store)
    kwargs: dict[str, Any] = {
        "clock": clock,
        "interaction_timeout_s": config.interaction_timeout_s,
        "cooldown_period_s": config.cooldown_period_s,
        "window_size": config.window_actions,
    }
    if url == "memory" or options.dry_run:
        return MemoryRelayStore(product_id, **kwargs)
    return RedisRelayStore(url, product_id, **kwargs)


def validate(options: RelayOptions) -> None:
    """Checks that need no network: options, store URL, destination (exit 2/3 early)."""
    if options.replay is None and options.stream is None:
        raise UsageError("nothing to relay: give the stream settings or `replay` FILE")
    check_store_url(options.store)
    if options.max_attempts < 1:
        raise UsageError(
            f"`max_attempts` must be ≥ 1, got {options.max_attempts}", setting="max_attempts"
        )
    if options.drain_timeout < 0:
        raise UsageError("`drain_timeout` must be ≥ 0 seconds", setting="drain_timeout")
    if options.listen is not None:
        parse_listen(options.listen)


async def run_relay(
    options: RelayOptions,
    summary: RelaySummary,
    *,
    on_status: Callable[[RelaySummary], None] | None = None,
    install_signals: bool = True,
) -> RelaySummary:
    """Run until the input ends, a stop condition holds, or SIGINT/SIGTERM."""
    validate(options)
    if options.replay is not None:
        replayed = replay_input(options.replay)
        config = resolve_config(options.config, replayed.config)
        product_id = options.product_id or replayed.product_id or "replay"
        clock = VirtualClock(replayed.start)
    else:
        config = resolve_config(options.config)
        product_id = options.stream.product_id
        clock = VirtualClock(time.time())
    destination = make_destination(options)
    store = make_store(options, product_id, config, clock)
    relay = Relay(config, store, clock, product_id=product_id, pulse_s=options.pulse_s)
    dead_path = options.dead_letter or default_dead_letter_path(product_id)
    summary.dead_letter_path = dead_path
    health = Health(live=options.replay is None)
    metrics = RelayMetrics(lambda: snapshot(relay, sender, summary.stream, health))
    sender = Sender(
        store,
        destination,
        policy=RetryPolicy(max_attempts=options.max_attempts),
        dead_letters=DeadLetters(dead_path),
        on_delivered=metrics.observe_delivery,
    )
    summary.relay, summary.sender, summary.health = relay, sender, health
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        loop.call_soon_threadsafe(stop.set)

    summary.request_stop = request_stop
    installed: list[signal.Signals] = []
    if install_signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, _on_signal, stop, summary, signum)
                installed.append(signum)
            except (NotImplementedError, RuntimeError):
                pass
    lock = asyncio.Lock()
    sender_task: asyncio.Task[None] | None = None
    listener: Any = None
    try:
        checkpoint = await relay.resume()  # the store answers before the stream is touched
        sender_task = asyncio.create_task(sender.run())
        if options.listen is not None:
            listener = await listen(options, relay, lock, store, health, metrics, summary)
        if options.replay is not None:
            work = _replay(relay, sender, replayed.events, options, summary, lock)
        else:
            work = _live(relay, sender, options, summary, lock, checkpoint, on_status, health)
        source = asyncio.create_task(work)
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {source, stopper},
                timeout=options.max_time,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not done:
                summary.stop_reason = f"`max_time` {options.max_time:g} s reached"
            if source in done:
                source.result()  # raise what the source raised
        finally:
            # Under the lock: a batch is never cut between its state change and its commit.
            async with lock:
                for task in (source, stopper):
                    task.cancel()
            await asyncio.gather(source, stopper, return_exceptions=True)
        async with lock:
            await relay.drain_notes()
        sender.stop()
        await _drain(sender, sender_task, store, options.drain_timeout, summary)
    finally:
        if listener is not None:
            server, task, contacts = listener
            server.should_exit = True
            await asyncio.gather(task, return_exceptions=True)
            if contacts is not None:
                await contacts.aclose()
        if sender_task is not None and not sender_task.done():
            sender_task.cancel()  # an error ended the run: no drain
            await asyncio.gather(sender_task, return_exceptions=True)
        for signum in installed:
            loop.remove_signal_handler(signum)
        await destination.aclose()
        await store.aclose()
    return summary


async def listen(
    options: RelayOptions,
    relay: Relay,
    lock: asyncio.Lock,
    store: MemoryRelayStore,
    health: Health,
    metrics: RelayMetrics,
    summary: Any,
    **inbound_options: Any,
) -> tuple[Any, asyncio.Task[None], Any]:
    """Start the inbound app on ``--listen``; a non-loopback address is warned about.

    Returns the server, its task and the Intercom contact reader (to close), if any.
    *inbound_options* override :class:`Inbound`'s (a relay-group member's ping, links).
    """
    from autoplay_cli.errors import ServiceUnavailableError

    assert options.listen is not None
    host, port = parse_listen(options.listen)
    if host not in LOOPBACK:
        log.warning(
            "listening on %s: reachable from other machines; the chatbot webhook is signed "
            "and the reads need `api_key`, but prefer a reverse proxy with TLS",
            host,
        )
    loader = getattr(store, "activity", None) if store.durable else None
    contacts = _intercom_contacts(options)
    settings: dict[str, Any] = {
        "secret": options.to_secret,
        "api_key": options.api_key,
        "health": health,
        "metrics": metrics,
        "ping": store.ping,
        "activity_loader": loader,
        "intercom_secret": options.intercom_client_secret,
        "intercom_contacts": contacts,
        "host": host,
    }
    inbound = Inbound(relay, lock, **{**settings, **inbound_options})
    server, task = serve_task(inbound.app(), host, port)
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            server.should_exit = True
            await asyncio.gather(task, return_exceptions=True)
            if contacts is not None:
                await contacts.aclose()
            raise ServiceUnavailableError(
                f"cannot listen on {options.listen}",
                setting="listen",
                hint="is the port in use? pick another with `listen` HOST:PORT",
            )
        await asyncio.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
    summary.listening = f"http://{options.listen.rpartition(':')[0]}:{bound[1]}"
    log.info("listening on %s", summary.listening)
    return server, task, contacts


def _intercom_contacts(options: RelayOptions) -> Any:
    """The contact reader for Intercom notifications that leave the session id out:
    with the client secret (Intercom notifications accepted) and an access token."""
    if not options.intercom_client_secret:
        return None
    from autoplay_cli.relay.intercom import TOKEN_ENV, IntercomContacts

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        log.warning(
            "%s is not set: Intercom notifications without the contact's "
            "autoplay_session_id are acknowledged and not linked",
            TOKEN_ENV,
        )
        return None
    return IntercomContacts(token)


def _on_signal(stop: asyncio.Event, summary: RelaySummary, signum: int) -> None:
    name = signal.Signals(signum).name
    summary.signal = name
    summary.stop_reason = f"{name} received"
    stop.set()


async def _drain(
    sender: Sender,
    sender_task: asyncio.Task[None],
    store: MemoryRelayStore,
    timeout: float,
    summary: RelaySummary,
) -> None:
    """Send what is queued for up to *timeout* s; a memory outbox's rest is dead-lettered."""
    try:
        async with asyncio.timeout(timeout):
            await sender_task  # the drain in progress
            await sender.drain()  # and whatever the last batches queued
    except TimeoutError:
        log.warning("drain timeout (%g s) reached with deliveries still queued", timeout)
    finally:
        if not sender_task.done():
            sender_task.cancel()
            await asyncio.gather(sender_task, return_exceptions=True)
    left = await store.outbox_peek(1_000_000)
    if not left:
        return
    if store.durable:
        summary.undelivered = len(left)
        return
    # A memory outbox dies with the process: keep its deliveries in the dead-letter file.
    assert sender.dead_letters is not None
    for _, delivery in left:
        sender.dead_letters.append(delivery, "not sent before shutdown", 0, sender.destination.name)
        sender.stats.dead += 1
    await store.outbox_ack([entry for entry, _ in left])


@dataclass
class ReplayInput:
    """A file to replay: its events (streamed for a plain recording), start, config, product."""

    events: Iterator[SimEvent]
    start: float
    config: str | None = None
    product_id: str | None = None


def is_recording(path: Path) -> bool:
    """Does every line of *path* look like a recording envelope (no scenario steps)?"""
    try:
        with path.open("rb") as fh:
            rest = b""
            while block := fh.read(_SCAN_BLOCK):
                lines = block.split(b"\n")
                if rest:  # the line begun in the block before (not the block copied)
                    lines[0] = rest + lines[0]
                rest = lines.pop()  # not ended yet
                if b'"scenario"' in block or not _all_envelopes(lines):
                    return False
            return _all_envelopes([rest])
    except OSError:
        return False  # the scenario loader reports it properly


_SCAN_BLOCK = 1 << 20


def _all_envelopes(lines: list[bytes]) -> bool:
    """:func:`is_recording` for lines: each non-blank one starts with ``{`` (after
    whitespace) and names a ``"payload"``; the first and last may straddle blocks, so
    they are searched for ``"scenario"`` here (the block was, in one search in C)."""
    if lines and (b'"scenario"' in lines[0] or b'"scenario"' in lines[-1]):
        return False
    for line in lines:
        # Recordings start lines with "{": the copies of strip() only for the others.
        if line[:1] != b"{":
            line = line.lstrip()
            if not line:
                continue
            if line[:1] != b"{":
                return False
        if b'"payload"' not in line:
            return False
    return True


def replay_input(path: Path) -> ReplayInput:
    """A recording is streamed envelope by envelope (its fast views, no models); anything
    else (scenarios, emulator scenario files) goes through ``simulate``'s loader."""
    if path.suffix.lower() not in (".toml", ".json") and is_recording(path):
        from autoplay_cli.recording import iter_recorded_views

        envelopes = iter_recorded_views(path)
        first = next(envelopes, None)
        if first is not None:
            where = f"{path}:"  # the path formatted once, not per event

            def events() -> Iterator[SimEvent]:
                for at, view, event_id, number in itertools.chain((first,), envelopes):
                    # Positional, every field given: no keyword or default handling.
                    yield SimEvent(
                        at, view.session_id, view.type, f"{where}{number}", view, {}, "", event_id
                    )

            product = getattr(first[1], "product_id", None) or None
            return ReplayInput(events(), first[0], None, product)
    from autoplay_cli.simulate.inputs import load_inputs

    inputs = load_inputs([path])
    product = next(
        (str(p) for e in inputs.events if (p := getattr(e.payload, "product_id", None))), None
    )
    return ReplayInput(iter(inputs.events), inputs.start, inputs.config, product)


async def _replay(
    relay: Relay,
    sender: Sender,
    events: Iterator[SimEvent],
    options: RelayOptions,
    summary: RelaySummary,
    lock: asyncio.Lock,
) -> None:
    if options.count is not None:
        events = itertools.islice(events, options.count)
    done = 0
    while chunk := list(itertools.islice(events, REPLAY_CHUNK)):
        async with lock:
            await relay.feed(chunk)
        done += len(chunk)
        sender.wake()
        await asyncio.sleep(0)  # let the sender keep the outbox short
    summary.stop_reason = (
        f"`count` {options.count} reached" if done == options.count else "end of input"
    )


async def _live(
    relay: Relay,
    sender: Sender,
    options: RelayOptions,
    summary: RelaySummary,
    lock: asyncio.Lock,
    checkpoint: str | None,
    on_status: Callable[[RelaySummary], None] | None,
    health: Health,
) -> None:
    import dataclasses

    from autoplay_cli.stream.client import Notice, StreamClient

    config = options.stream
    if checkpoint is not None:
        # Resume where the store's last committed batch ended.
        config = dataclasses.replace(config, last_event_id=checkpoint)

    def notice(n: Notice) -> None:
        if n.kind == "connected":
            health.stream_connected = True
        elif n.kind == "disconnected":
            health.stream_connected = False
        (log.warning if n.kind in ("disconnected", "gap") else log.info)("%s", n.message)

    client = StreamClient(config, on_notice=notice)
    summary.stream = client.stats
    ticker = asyncio.create_task(_tick(relay, lock, on_status, summary))
    remaining = options.count
    try:
        async for events, last_id in _stream_events(client):
            if remaining is not None and len(events) >= remaining:
                events = events[:remaining]
                last_id = events[-1].event_id if events else last_id
            async with lock:
                await relay.feed(events, last_id)
            health.last_event_id = last_id
            forwarded = getattr(events[-1].payload, "forwarded_at", 0.0) if events else 0.0
            if forwarded:
                health.last_forwarded_at = forwarded
            sender.wake()
            if remaining is not None:
                remaining -= len(events)
                if remaining <= 0:
                    summary.stop_reason = f"`count` {options.count} reached"
                    return
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)


async def _stream_events(client: Any) -> AsyncIterator[tuple[list[SimEvent], str | None]]:
    """The stream's payload events as engine events (time: the read's wall time)."""
    from autoplay_cli.wire import PayloadEvent

    batches = client.batches()
    try:
        async for batch in batches:
            now = time.time()
            events = [
                SimEvent(
                    now,
                    e.view.session_id,
                    e.view.type,
                    f"event {e.id}",
                    e.view,
                    event_id=e.id,
                )
                for e in batch
                if type(e) is PayloadEvent
            ]
            if events:
                yield events, client.stats.last_event_id
    finally:
        await batches.aclose()


async def _tick(
    relay: Relay,
    lock: asyncio.Lock,
    on_status: Callable[[RelaySummary], None] | None,
    summary: RelaySummary,
) -> None:
    last_status = last_sweep = time.monotonic()
    while True:
        await asyncio.sleep(TICK_S)
        async with lock:
            await relay.tick(time.time())
        now = time.monotonic()
        if on_status is not None and now - last_status >= 1.0:
            last_status = now
            on_status(summary)
        if now - last_sweep >= SWEEP_S:
            last_sweep = now
            relay.sweep(time.time())
