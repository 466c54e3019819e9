"""The decision engine of `simulate` and `relay`: events in, state changes and offers out.

Every state change goes through a session store (memory or Redis) with ``update``,
on a driven clock (scenario time for ``simulate``, the wall clock or a recording's
time for ``relay``); sessions in PROACTIVE/REACTIVE are ticked on a pulse so silent
timeouts land at the right time. Each step is recorded in a report and/or handed
to a listener (the relay turns offers into deliveries there).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import math
from collections import deque
from collections.abc import Callable, Coroutine, MutableMapping, Sequence
from typing import Any

from autoplay_cli.errors import InputError
from autoplay_cli.session import (
    AgentState,
    ConversationLinkStore,
    InvalidTransitionError,
    MemoryConversationLinkStore,
    SessionState,
    SessionStore,
    TourDefinition,
    TourRegistry,
    link_conversation,
)
from autoplay_cli.simulate.clock import VirtualClock
from autoplay_cli.simulate.inputs import SimEvent, SimulationInput
from autoplay_cli.simulate.live_store import LiveSessionStore
from autoplay_cli.simulate.report import (
    APPLIED,
    BLOCKED,
    NONE,
    NOOP,
    OFFER,
    REJECTED,
    SKIPPED,
    TIMEOUT,
    Report,
    Step,
)
from autoplay_cli.triggers.base import Offer
from autoplay_cli.triggers.config import ConfiguredTrigger, TriggerConfig
from autoplay_cli.triggers.window import ActionWindow

DEFAULT_PULSE_S = 1.0
# A finer pulse is below what a virtual time can resolve (an epoch float's step is
# ~1e-7 s); a coarser one would push every timeout out of any readable time range.
MIN_PULSE_S = 0.001
MAX_PULSE_S = 86400.0
SIMULATION_KEY_PREFIX = "autoplay:simulate:session_state:"
SIMULATION_LINK_PREFIX = "autoplay:simulate:conversation_link:"
_THINKING = AgentState.THINKING
# A state's value without the enum's ``value`` descriptor (a call per read).
_STATE_VALUES: dict[AgentState, str] = {s: s.value for s in AgentState}


def valid_pulse(pulse_s: float) -> bool:
    """0 (tick at each deadline) or a pulse from ``MIN_PULSE_S`` to ``MAX_PULSE_S``."""
    return pulse_s == 0 or MIN_PULSE_S <= pulse_s <= MAX_PULSE_S


def tour_registry(config: TriggerConfig) -> TourRegistry:
    """The session package's registry for the tours of a trigger config."""
    try:
        return TourRegistry(
            TourDefinition(t.id, t.provider_flow_id, t.interaction_timeout_s, t.cooldown_period_s)
            for t in config.tours
        )
    except InputError as exc:
        raise InputError(f"{config.source}: tours: {exc.message}", hint=exc.hint) from exc


@functools.cache
def _timeout_reason(timeout: float, cooldown: float, sign: float) -> str:
    """Why a session timed out (the same few timings over a whole run: worded once each).

    *sign* is the cooldown's (-0.0 is written "-0", yet equals 0.0 as a key).
    """
    return f"no interaction for {timeout:g} s; cooldown {cooldown:g} s starts"


StepListener = Callable[[Step, SessionState | None, SimEvent | None], None]


class Engine:
    """Runs events in time order against a session store on a :class:`VirtualClock`.

    ``pulse_s`` spaces the ticks of sessions waiting to time out; ``0`` ticks each
    exactly at its deadline. ``keep_steps=False`` keeps only the summaries (for
    very large runs); ``snapshots=False`` leaves the per-step state snapshot out;
    ``record=False`` keeps no report at all (a long-running relay).

    ``on_step(step, state, event)`` sees every step as it is decided, with the
    session's state after it (``None`` for a skipped event) and the input event
    (``None`` for a timeout found by the pulse). ``windows`` holds each session's
    recent actions (the triggers' context); pass a mapping to keep it elsewhere.
    """

    def __init__(
        self,
        config: TriggerConfig,
        store: SessionStore,
        clock: VirtualClock,
        *,
        link_store: ConversationLinkStore | None = None,
        pulse_s: float = DEFAULT_PULSE_S,
        start: float | None = None,
        keep_steps: bool = True,
        snapshots: bool = True,
        record: bool = True,
        on_step: StepListener | None = None,
        windows: MutableMapping[str, deque[Any]] | None = None,
    ) -> None:
        if not valid_pulse(pulse_s):
            raise InputError(
                f"pulse must be 0 or {MIN_PULSE_S:g}–{MAX_PULSE_S:g} seconds, got {pulse_s!r}"
            )
        self.config = config
        self.triggers: list[ConfiguredTrigger] = config.active()
        # Each trigger with its evaluator's bound method: no per-batch attribute chain.
        # (ConfiguredTrigger.evaluate is that call plus the offer's wording, done in
        # _actions only when a trigger fires.)
        self._checks = [(t, t.evaluator.evaluate) for t in self.triggers]
        self.tours = tour_registry(config)
        self.store = store
        self.links: ConversationLinkStore = link_store or MemoryConversationLinkStore()
        self.clock = clock
        self.pulse_s = pulse_s
        self.snapshots = snapshots
        self.record = record
        self.on_step = on_step
        self.report = Report(clock.now if start is None else start, keep_steps=keep_steps)
        self.report.config = config.describe()
        # Engine-side context (like an integrator's context store): recent actions per session.
        self._windows: MutableMapping[str, deque[Any]] = {} if windows is None else windows
        # Sessions waiting to time out, with the virtual time their timeout is due; the
        # heap orders them (an entry no longer matching _deadlines is stale and skipped),
        # so finding the next one costs no scan of every waiting session per event.
        self._deadlines: dict[str, float] = {}
        self._due: list[tuple[float, str]] = []

    # -- driving -----------------------------------------------------------------------------

    async def run(self, events: Sequence[SimEvent]) -> Report:
        """Apply *events* (already in time order), then let every open session time out."""
        for event in events:
            await self.advance(event.time)
            await self.apply(event)
        return await self.finish()

    async def advance(self, t: float) -> None:
        """Move the clock to *t* (never back), ticking the sessions due on the way."""
        due = self._due
        # The heap's first entry (even a stale one) is no later than any deadline: past
        # *t*, nothing is due, and the common case costs no coroutine.
        if due and due[0][0] <= t:
            await self._pulse_until(t)
        clock = self.clock
        # clock.advance_to(max(t, clock.now)), inline: this runs once per event.
        if not t <= clock.now:
            clock.now = float(t)

    def move_clock(self, t: float) -> bool:
        """Move the clock to *t* (never back) when no session is due by then; else ``False``.

        The relay's per-event fast path: no coroutine. On ``False`` nothing moved, and
        the caller awaits :meth:`advance` to tick the sessions due on the way.
        """
        due = self._due
        if due and due[0][0] <= t:
            return False
        clock = self.clock
        if not t <= clock.now:
            clock.now = float(t)
        return True

    async def finish(self) -> Report:
        """Let every open session time out; the report, its end set."""
        await self._pulse_until(math.inf)
        self.report.end = self.clock.now
        return self.report

    @property
    def waiting(self) -> int:
        """How many sessions wait to time out (in PROACTIVE or REACTIVE)."""
        return len(self._deadlines)

    def track(self, state: SessionState) -> None:
        """Watch *state* for its timeout (a session loaded from a store after a restart)."""
        self._track(state, self.clock.now)

    async def _pulse_until(self, t: float) -> None:
        """Tick waiting sessions at pulse instants up to and including *t*.

        Ticking every waiting session at every pulse would give the same result:
        a tick before a session's deadline changes nothing. So only the first
        pulse instant at or after each deadline is visited, which keeps long
        quiet stretches cheap.
        """
        heap, deadlines = self._due, self._deadlines
        while heap:
            due, first = heap[0]
            if deadlines.get(first) != due:
                heapq.heappop(heap)  # stale: the session moved on or went back to thinking
                continue
            instant = due if self.pulse_s == 0 else math.ceil(due / self.pulse_s) * self.pulse_s
            # Float rounding may put the grid point a hair before the deadline: never
            # visit an instant at which no session is due (it would loop forever).
            instant = max(instant, due, self.clock.now)
            if instant > t:
                return
            self.clock.advance_to(instant)
            batch = set()
            while heap and heap[0][0] <= instant:
                d, sid = heapq.heappop(heap)
                if deadlines.get(sid) == d:
                    batch.add(sid)
            for sid in sorted(batch):
                result: dict[str, Any] = {}

                def fn(state: SessionState, result: dict[str, Any] = result) -> None:
                    result.clear()
                    self._tick_in(state, result)

                state = await self.store.update(sid, fn)
                self._record_timeout(sid, result, "pulse", state, None)
                self._track(state, instant)

    def _track(self, state: SessionState, now: float) -> None:
        """Remember when a session in PROACTIVE/REACTIVE is due to time out."""
        sid = state.session_id
        if state.current_state is _THINKING:
            self._deadlines.pop(sid, None)
            return
        if state.active_tour_id is None:  # effective_timeouts() without a tour: its own
            timeout = state.interaction_timeout_s
        else:
            timeout, _ = state.effective_timeouts(self.tours)
        due = state.last_interaction_at + timeout
        # Float rounding can leave a due time a hair before the tick that would fire it;
        # step past *now* by at least one representable value, so the pulse always moves on.
        if due <= now:
            due = max(now + self.pulse_s, math.nextafter(now, math.inf))
        if self._deadlines.get(sid) != due:
            self._deadlines[sid] = due
            heapq.heappush(self._due, (due, sid))

    def _tick_in(self, state: SessionState, result: dict[str, Any]) -> None:
        """Tick *state* inside a store mutation, keeping what a timeout step needs."""
        before = _STATE_VALUES[state.current_state]
        if before == "thinking":  # tick() is a no-op in THINKING; skip the tour lookup
            result["before"] = before
            return
        timeout, cooldown = state.effective_timeouts(self.tours)
        if state.tick(self.tours):
            result["timeout"] = (
                before,
                _timeout_reason(timeout, cooldown, math.copysign(1.0, cooldown)),
                self._view(state),
            )
        result["before"] = _STATE_VALUES[state.current_state]

    def _view(self, state: SessionState) -> tuple[str, float, dict[str, Any] | None]:
        return (
            _STATE_VALUES[state.current_state],
            state.cooldown_remaining_s,
            state.to_dict() if self.snapshots else None,
        )

    def _record_timeout(
        self,
        sid: str,
        result: dict[str, Any],
        source: str,
        state: SessionState,
        event: SimEvent | None,
    ) -> None:
        if "timeout" in result:
            before, reason, view = result["timeout"]
            self._add(
                sid,
                "timeout",
                TIMEOUT,
                before,
                view,
                reason=reason,
                source=source,
                state=state,
                event=event,
            )

    def _add(
        self,
        sid: str,
        event_kind: str,
        decision: str,
        before: str | None,
        view: tuple[str, float, dict[str, Any] | None],
        *,
        trigger: str | None = None,
        reason: str | None = None,
        detail: str = "",
        offer: Offer | None = None,
        actions: int = 0,
        source: str = "",
        state: SessionState | None = None,
        event: SimEvent | None = None,
    ) -> None:
        after, cooldown, snapshot = view
        step = Step(
            0,
            self.clock.now,
            sid,
            event_kind,
            decision,
            before,
            after,
            trigger,
            reason,
            detail,
            offer,
            actions,
            source,
            cooldown,
            snapshot,
        )
        if self.record:
            self.report.add(step)
        if self.on_step is not None:
            self.on_step(step, state, event)

    # -- one event ---------------------------------------------------------------------------

    def apply(self, event: SimEvent) -> Coroutine[Any, Any, None]:
        """Apply one event at the clock's current time (await the result)."""
        sid = event.session_id
        if event.kind == "actions" and sid is not None:
            # The common event: its own coroutine, awaited by the caller (no second frame).
            return self._actions(sid, event)
        return self._apply(sid, event)

    async def _apply(self, sid: str | None, event: SimEvent) -> None:
        kind = event.kind
        if kind == "summary":
            self.report.summaries_ignored += 1
            return
        if sid is None:
            self.report.skipped_anonymous += 1
            if not self.record:
                return
            self.report.add(
                Step(
                    0,
                    event.time,
                    None,
                    kind,
                    SKIPPED,
                    None,
                    None,
                    reason="anonymous batch (no session id)",
                    actions=len(getattr(event.payload, "actions", ())),
                    source=event.source,
                )
            )
            return
        await self._chat(sid, event)  # (a batch with a session id went to _actions)

    async def _actions(self, sid: str, event: SimEvent) -> None:
        # A wire model, or (in the relay) the stream's fast view of it: same attributes.
        payload: Any = event.payload
        assert payload is not None
        window = self._windows.get(sid)
        if type(window) is not ActionWindow:
            # A plain deque (restored by a store) becomes a window keeping the triggers'
            # running aggregates, so no trigger re-reads every action on every batch.
            size = self.config.window_actions if window is None else window.maxlen
            window = self._windows[sid] = ActionWindow(window or (), size)
        actions = payload.actions
        window.push(actions)
        now = self.clock.now
        checks = self._checks
        # What the mutation decided, in locals it sets afresh on every call (a store may
        # call it more than once: a compare-and-set retry).
        before = "thinking"
        timed_out: tuple[str, str, tuple[str, float, dict[str, Any] | None]] | None = None
        offer: Offer | None = None
        ok, reason = False, ""

        def fn(state: SessionState) -> None:
            nonlocal before, timed_out, offer, ok, reason
            timed_out = offer = None
            if state.current_state is _THINKING:
                before = "thinking"  # tick() is a no-op in THINKING
            else:
                result: dict[str, Any] = {}
                self._tick_in(state, result)
                before, timed_out = result["before"], result.get("timeout")
            metadata = state.metadata
            value = payload.user_id
            if value and metadata.get("user_id") is None:
                metadata["user_id"] = value
            value = payload.email
            if value and metadata.get("email") is None:
                metadata["email"] = value
            for trigger, evaluate in checks:
                firing = evaluate(window, now)
                if firing is None:
                    continue
                # As ConfiguredTrigger.evaluate words it (its evaluator is called directly).
                offer = Offer(trigger.id, trigger.body, trigger.chips, firing.detail)
                ok, reason = state.can_deliver_proactive()
                if ok:
                    # The firing trigger's own timings govern this proactive episode.
                    state.interaction_timeout_s = trigger.interaction_timeout_s
                    state.cooldown_period_s = trigger.cooldown_period_s
                    ok = state.transition_to_proactive(trigger.id)
                break

        state = await self.store.update(sid, fn)
        source = event.source
        if timed_out is not None:
            self._record_timeout(sid, {"timeout": timed_out}, source, state, event)
        n = len(actions)
        if offer is None:
            # The common step, built here rather than through _add (same fields).
            current = state.current_state
            cooldown_until = state.cooldown_until
            step = Step(
                0,
                self.clock.now,
                sid,
                "actions",
                NONE,
                before,
                _STATE_VALUES[current],
                None,
                None,
                " → ".join(a.canonical_url or "·" for a in actions)
                if self.report.keep_steps
                else "",
                None,
                n,
                source,
                0.0 if cooldown_until is None else max(0.0, cooldown_until - state.now()),
                state.to_dict() if self.snapshots else None,
            )
            if self.record:
                self.report.add(step)
            if self.on_step is not None:
                self.on_step(step, state, event)
            if current is _THINKING:
                self._deadlines.pop(sid, None)
                return
        elif ok:
            self._add(
                sid,
                "actions",
                OFFER,
                before,
                self._view(state),
                trigger=offer.trigger_id,
                offer=offer,
                actions=n,
                source=source,
                state=state,
                event=event,
            )
        else:
            self._add(
                sid,
                "actions",
                BLOCKED,
                before,
                self._view(state),
                trigger=offer.trigger_id,
                reason=reason,
                detail=offer.detail,
                actions=n,
                source=source,
                state=state,
                event=event,
            )
        self._track(state, now)

    async def _chat(self, sid: str, event: SimEvent) -> None:
        now = self.clock.now
        result: dict[str, Any] = {}

        async def fn(state: SessionState) -> None:
            result.clear()
            self._tick_in(state, result)
            try:
                result["decision"], result["detail"] = await self._chat_effect(state, event)
            except InvalidTransitionError as exc:
                result["decision"], result["detail"] = REJECTED, exc.message

        state = await self.store.update(sid, fn)
        self._record_timeout(sid, result, event.source, state, event)
        decision, detail = result["decision"], result["detail"]
        reason = detail if decision in (REJECTED, NOOP) else None
        self._add(
            sid,
            event.kind,
            decision,
            result["before"],
            self._view(state),
            reason=reason,
            detail="" if reason else detail,
            source=event.source,
            state=state,
            event=event,
        )
        self._track(state, now)

    async def _chat_effect(self, state: SessionState, event: SimEvent) -> tuple[str, str]:
        """Apply one chat-side event; ``(decision, detail)``. May raise InvalidTransitionError."""
        kind, args = event.kind, event.args
        thinking = state.current_state is _THINKING
        if kind == "open_chat":
            state.transition_to_reactive()
            if thinking:
                state.interaction_timeout_s = self.config.interaction_timeout_s
                state.cooldown_period_s = self.config.cooldown_period_s
                return APPLIED, "user opened the chat"
            return APPLIED, "chat already open: counts as an interaction"
        if kind == "tick":
            return NOOP, "no change"
        if kind == "link":
            cid = args["conversation"]
            link = await link_conversation(state, self.links, cid, args.get("link"))
            kept = state.conversation_id != cid
            return APPLIED, (
                f"{cid} ({link.event.value}" + (f", kept {state.conversation_id})" if kept else ")")
            )
        if kind == "tour_start":
            tour = args.get("tour")
            state.set_visual_guidance(True, tour)
            known = tour is None or self.tours.resolve(tour) is not None
            return APPLIED, f"tour {tour or '(unnamed)'} started" + (
                "" if known else " (not in the tour registry)"
            )
        if kind == "tour_end":
            if not state.visual_guidance_active:
                return NOOP, "no tour is running"
            state.set_visual_guidance(False)
            return APPLIED, "tour ended"
        if thinking:
            return NOOP, f"{kind.replace('_', ' ')} while thinking: no conversation to extend"
        recorder = {
            "message": state.record_user_interaction,
            "option_click": state.record_option_click,
            "reaction": state.record_reaction,
            "tour_step": state.record_tour_step,
        }[kind]
        recorder()
        label = args.get("chip") or args.get("text") or args.get("emoji") or args.get("step")
        return APPLIED, f"interaction recorded{f' ({label})' if label is not None else ''}"


async def simulate_async(
    inputs: SimulationInput,
    config: TriggerConfig,
    *,
    store_url: str | None = None,
    store: Any = None,
    pulse_s: float = DEFAULT_PULSE_S,
    keep_steps: bool = True,
    snapshots: bool = True,
) -> Report:
    """Run *inputs* in memory, through Redis at *store_url*, or through a given *store*.

    In memory, sessions are live :class:`SessionState` objects (the run is their
    only writer). With Redis, every step is a compare-and-set update of a snapshot
    in a key namespace of the run's own (see :mod:`autoplay_cli.simulate._redis_run`),
    so every run starts fresh and parallel runs never meet.
    A *store* built by the caller (e.g. a ``MemorySessionStore``) must have a
    :class:`VirtualClock` as its ``clock``; it is moved to the input's start.
    """
    timings: dict[str, Any] = {
        "interaction_timeout_s": config.interaction_timeout_s,
        "cooldown_period_s": config.cooldown_period_s,
    }
    links: Any = MemoryConversationLinkStore()
    if store is not None:
        clock = getattr(store, "clock", None)
        if not isinstance(clock, VirtualClock):
            raise InputError("the store given to simulate needs a VirtualClock as its clock")
        clock.advance_to(max(clock.now, inputs.start))
    elif store_url is None:
        clock = VirtualClock(inputs.start)
        store = LiveSessionStore(clock=clock, **timings)
    else:
        from autoplay_cli.simulate._redis_run import open_redis_run

        clock = VirtualClock(inputs.start)
        # A key namespace of this run's own: parallel runs never share or delete keys.
        store, links, namespace = await open_redis_run(store_url, clock, **timings)
    try:
        engine = Engine(
            config,
            store,
            clock,
            link_store=links,
            pulse_s=pulse_s,
            start=inputs.start,
            keep_steps=keep_steps,
            snapshots=snapshots,
        )
        engine.report.names = list(inputs.names)
        if store_url is not None:
            engine.report.namespace = namespace
        return await engine.run(inputs.events)
    finally:
        await store.aclose()


def simulate(
    inputs: SimulationInput,
    config: TriggerConfig,
    *,
    store_url: str | None = None,
    pulse_s: float = DEFAULT_PULSE_S,
    keep_steps: bool = True,
    snapshots: bool = True,
) -> Report:
    """Synchronous :func:`simulate_async` (runs its own event loop)."""
    return asyncio.run(
        simulate_async(
            inputs,
            config,
            store_url=store_url,
            pulse_s=pulse_s,
            keep_steps=keep_steps,
            snapshots=snapshots,
        )
    )
