"""``autoplay relay --group``: run this process as one member of a product's relay group."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from autoplay_cli.errors import UsageError
from autoplay_cli.relay.group.member import GroupOptions, Member
from autoplay_cli.relay.runner import RelayOptions, make_destination, resolve_config
from autoplay_cli.relay.sender import default_dead_letter_path
from autoplay_cli.relay.store import check_store_url

log = logging.getLogger(__name__)


@dataclass
class MemberSummary:
    """What one member did; printed at exit."""

    started: float = field(default_factory=time.time)
    stop_reason: str = "interrupted"
    signal: str | None = None
    member: Member | None = None
    listening: str | None = None  # the inbound app's URL, once it serves

    def describe(self) -> str:
        m = self.member
        if m is None:
            return f"relay member: stopped: {self.stop_reason}"
        h = m.health
        return (
            f"relay member {m.name}: appended {h.appended}, applied {h.applied}, "
            f"delivered {m.delivered}, dead letters {m.dead}, stream takeovers {h.takeovers}"
            f" — stopped: {self.stop_reason}"
        )


def build_member(options: RelayOptions, group: GroupOptions) -> Member:
    """A member for *options* (checked offline: store URL, flags, trigger config)."""
    url = check_store_url(options.store)
    if url == "memory" or options.dry_run:
        raise UsageError(
            "`group` needs a shared store: `store` redis://…",
            hint="every member of a group runs with the same `store` redis:// URL",
            setting="store",
        )
    group.check()
    if options.replay is not None:
        from autoplay_cli.simulate.inputs import load_inputs

        inputs = load_inputs([options.replay])
        config = resolve_config(options.config, inputs.config)
        product_id = options.product_id or _product_of(inputs.events) or "replay"
        replay: Any = inputs.events
        start: float | None = inputs.start
    else:
        config = resolve_config(options.config)
        product_id = options.stream.product_id
        replay, start = None, None
    return Member(
        url,
        product_id,
        config,
        make_destination(options),
        group,
        replay=replay,
        replay_start=start,
        stream=options.stream,
        dead_letter=options.dead_letter or default_dead_letter_path(product_id),
        max_attempts=options.max_attempts,
        drain_timeout=options.drain_timeout,
    )


def _product_of(events: Any) -> str | None:
    for event in events:
        product = getattr(event.payload, "product_id", None)
        if product:
            return str(product)
    return None


async def run_member(
    options: RelayOptions, group: GroupOptions, summary: MemberSummary
) -> MemberSummary:
    """Take part in the group until SIGINT/SIGTERM or ``--max-time``."""
    member = build_member(options, group)
    summary.member = member
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        summary.signal = signal.Signals(signum).name
        summary.stop_reason = f"{summary.signal} received"
        stop.set()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):
            pass
    timer = None
    if options.max_time is not None:

        def times_up() -> None:
            summary.stop_reason = f"`max_time` {options.max_time:g} s reached"
            stop.set()

        timer = loop.call_later(options.max_time, times_up)
    listener = None
    view: Any = None
    try:
        if options.listen is not None:
            view, listener = await serve_inbound(options, member, summary)
        await member.run(stop)
    finally:
        if listener is not None:
            server, task, contacts = listener
            server.should_exit = True
            await asyncio.gather(task, return_exceptions=True)
            if contacts is not None:
                await contacts.aclose()
        if view is not None:
            await view.aclose()
        if timer is not None:
            timer.cancel()
        for signum in installed:
            loop.remove_signal_handler(signum)
        await member.destination.aclose()
    return summary


async def serve_inbound(
    options: RelayOptions, member: Member, summary: MemberSummary
) -> tuple[Any, tuple[Any, asyncio.Task[None], Any]]:
    """The single relay's inbound app on ``--listen``, over the product's keys in Redis.

    Reads (live activity, the gate) go to Redis on every request; a chatbot link is
    queued on the session's partition for its owner; ``/healthz`` is the member's health.
    """
    from autoplay_cli.relay.inbound import Health
    from autoplay_cli.relay.metrics import RelayMetrics
    from autoplay_cli.relay.pipeline import Relay
    from autoplay_cli.relay.runner import listen
    from autoplay_cli.relay.store import RedisRelayStore
    from autoplay_cli.simulate.clock import VirtualClock

    config, clock = member.config, VirtualClock(time.time())
    store = RedisRelayStore(
        member.url,
        member.product_id,
        clock=clock,
        interaction_timeout_s=config.interaction_timeout_s,
        cooldown_period_s=config.cooldown_period_s,
        window_size=config.window_actions,
    )
    relay = Relay(config, store, clock, product_id=member.product_id)
    try:
        listener = await listen(
            options,
            relay,
            asyncio.Lock(),
            store,
            Health(live=False),
            RelayMetrics(member.metrics_snapshot),
            summary,
            ping=member.check_health,
            enqueue_link=member.enqueue_link,
            shared=True,
        )
    except BaseException:
        await store.aclose()
        raise
    return store, listener
