"""The relay's core: stream events in, the shared decision engine, deliveries out.

:class:`Relay` feeds events to :class:`autoplay_cli.simulate.engine.Engine` (the
same engine ``simulate`` runs), turns its offers into proactive-offer deliveries,
buffers activity into notes for linked conversations, keeps each user's live
activity, and records every batch's effects in the store in one commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from autoplay_cli.relay.activity import LiveActivity, action_record, action_time
from autoplay_cli.relay.delivery import NOTE, PROACTIVE_OFFER, Delivery
from autoplay_cli.relay.notes import Note, NotePolicy
from autoplay_cli.relay.store import MemoryRelayStore, newer
from autoplay_cli.session import AgentState, SessionState
from autoplay_cli.simulate.clock import VirtualClock
from autoplay_cli.simulate.engine import DEFAULT_PULSE_S, Engine
from autoplay_cli.simulate.inputs import SimEvent
from autoplay_cli.simulate.report import APPLIED, BLOCKED, OFFER, Step
from autoplay_cli.triggers.config import TriggerConfig

SESSION_IDLE_S = 86400.0


class RelayCounters:
    """What the relay did; read by the status line, the summary and ``/metrics``."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()  # payload events applied, by type
        self.skipped_replayed = 0  # events a session had already applied (after a restart)
        self.offers = 0
        self.blocked: Counter[str] = Counter()  # offers blocked, by reason
        self.notes = 0
        self.links = 0  # links applied (from the stream or the chatbot webhook)
        self.links_received = 0  # chatbot-webhook requests accepted
        self.anonymous = 0


class Relay:
    """One product's pipeline on a driven clock (wall time live, event time in a replay)."""

    def __init__(
        self,
        config: TriggerConfig,
        store: MemoryRelayStore,
        clock: VirtualClock,
        *,
        product_id: str,
        notes: NotePolicy | None = None,
        activity: LiveActivity | None = None,
        pulse_s: float = DEFAULT_PULSE_S,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.product_id = product_id
        self.notes = notes or NotePolicy()
        self.activity = activity or LiveActivity(product_id)
        self.counters = RelayCounters()
        self.engine = Engine(
            config,
            store.sessions,
            clock,
            link_store=store.links,
            pulse_s=pulse_s,
            keep_steps=False,
            snapshots=False,
            record=False,
            on_step=self._on_step,
            windows=store.windows,
        )
        self._out: list[Delivery] = []
        self._activity: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self._persist_activity = store.durable
        self._seen: dict[str, float] = {}  # session -> time of its last event

    # -- input -----------------------------------------------------------------------------

    async def resume(self) -> str | None:
        """Open the store; the checkpoint to resume the stream from (or ``None``)."""
        checkpoint = await self.store.open()
        self._adopt(self.store.reopened)
        return checkpoint

    async def feed(self, events: Sequence[SimEvent], checkpoint: str | None = None) -> int:
        """Apply *events* (one network read, in order) and commit their effects; how many."""
        store = self.store
        if store.durable:  # memory: everything is at hand
            sessions, conversations = set(), set()
            for e in events:
                if e.session_id:
                    sessions.add(e.session_id)
                    # A batch may link: its links are read ahead with its sessions.
                    carried = getattr(e.payload, "conversation_id", None)
                    if carried:
                        conversations.add(carried)
                    elif e.kind == "link":
                        conversations.add(e.args["conversation"])
            self._adopt(await store.prefetch(sessions, conversations))
        applied = 0
        last_applied = store.last_applied
        dirty = store.sessions.dirty
        seen = self._seen
        engine, counted, ends = self.engine, self.counters.events, self.notes.ends
        move_clock, apply, clock = engine.move_clock, engine.apply, self.clock
        for event in events:
            sid, eid, kind = event.session_id, event.event_id, event.kind
            if sid is not None and eid is not None:
                before = last_applied.get(sid)
                if before is not None and not newer(eid, before):
                    self.counters.skipped_replayed += 1
                    continue
            if not move_clock(event.time):  # a session is due by then: tick on the way
                await engine.advance(event.time)
            if ends and ends[0][0] <= clock.now:  # a coalesced note may be due
                self._flush_due()
            # Inline, not a method: one coroutine less per event.
            if kind == "summary":  # into the notes only; the engine ignores summaries
                counted["summary"] += 1
                if sid is not None and event.payload is not None:
                    self._summary(event, sid)
            else:
                if kind == "actions":
                    counted["actions"] += 1
                    if sid is None:
                        self.counters.anonymous += 1
                    elif getattr(event.payload, "conversation_id", None):
                        await self._carried_link(event, sid)
                await apply(event)
            if sid is not None:
                seen[sid] = event.time
                if eid is not None:
                    last_applied[sid] = eid
                    dirty.add(sid)  # a summary changes no state, yet is applied
            applied += 1
        await self.commit(checkpoint)
        return applied

    def _summary(self, event: SimEvent, sid: str) -> None:
        notes = self.notes
        note = notes.add(
            sid, notes.linked(sid), self.clock.now, self._source_id(event), event.payload
        )
        if note is not None:
            self._note(note)

    async def _carried_link(self, event: SimEvent, sid: str) -> None:
        """An actions batch carrying its conversation: link first, as the delivery manager
        does (the connector already knows the chat thread), unless it is linked already."""
        if self.notes.linked(sid) is not None:
            return
        state = self.store.sessions.peek(sid)
        if state is None or not state.conversation_linked:
            await self.engine.apply(
                SimEvent(
                    event.time,
                    sid,
                    "link",
                    event.source,
                    args={"conversation": getattr(event.payload, "conversation_id", None)},
                    event_id=event.event_id,
                )
            )

    async def link(
        self,
        session_id: str,
        conversation_id: str,
        event: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        source: str = "chatbot-webhook",
    ) -> SessionState:
        """A chatbot reported the conversation of *session_id*: link it (the engine's link
        event, as in a scenario), flush its pre-link notes, commit; the state after."""
        await self.engine.advance(self.clock.now)
        self._adopt(await self.store.prefetch([session_id]))
        args: dict[str, Any] = {"conversation": conversation_id}
        if event is not None:
            args["link"] = event
        await self.engine.apply(SimEvent(self.clock.now, session_id, "link", source, args=args))
        extra = {k: v for k, v in (metadata or {}).items() if v is not None}
        state = await self.store.sessions.update(
            session_id, lambda s: s.metadata.update(extra) if extra else None
        )
        await self.commit(None)
        self.counters.links_received += 1
        return state

    async def gate(self, session_id: str, now: float) -> tuple[bool, str]:
        """May the chatbot offer help now? The state machine's answer after a tick."""
        await self.engine.advance(now)
        self._adopt(await self.store.prefetch([session_id]))
        state = self.store.sessions.peek(session_id)
        if state is None:
            return True, "ok"  # a session the relay has not seen: nothing blocks it
        return state.can_deliver_proactive()

    async def tick(self, now: float) -> None:
        """Time passes: sessions time out, coalesced notes fall due; commit if anything changed."""
        await self.engine.advance(now)
        self._flush_due()
        if self._out or self.store.sessions.dirty:
            await self.commit(None)

    async def drain_notes(self) -> None:
        """Every buffered note of a linked session, now (shutdown, end of a replay)."""
        for note in self.notes.drain():
            self._note(note)
        await self.commit(None)

    async def commit(self, checkpoint: str | None) -> None:
        out, self._out = self._out, []
        activity, self._activity = self._activity, {}
        await self.store.commit(out, checkpoint, self.notes, activity)

    def sweep(self, now: float, idle_s: float = SESSION_IDLE_S) -> int:
        """Forget what the retention windows no longer keep (call now and then).

        A session quiet for *idle_s* (24 h, the Redis TTL) and at rest (thinking, no
        cooldown, no note to send, nothing uncommitted) leaves memory with its trigger
        window; a Redis store still has it until its key expires. How many left.
        """
        self.activity.sweep(now)
        self.notes.sweep(now)
        horizon = now - idle_s
        sessions, dirty = self.store.sessions, self.store.sessions.dirty
        gone = []
        for sid, last in self._seen.items():
            state = sessions.peek(sid)
            if last >= horizon or sid in dirty or self.notes.waiting(sid):
                continue
            if state is not None and (
                state.current_state is not AgentState.THINKING or state.cooldown_active
            ):
                continue
            gone.append(sid)
        for sid in gone:
            del self._seen[sid]
            sessions.forget(sid)
            self.store.windows.pop(sid, None)
            self.store.last_applied.pop(sid, None)
            self.notes.forget(sid)
        return len(gone)

    # -- engine output ---------------------------------------------------------------------

    def _adopt(self, states: Sequence[SessionState]) -> None:
        restored = self.store.restored_notes
        for state in states:
            self.engine.track(state)
            data = restored.pop(state.session_id, None)
            if data is not None:
                self.notes.restore(state.session_id, data)

    def _source_id(self, event: SimEvent) -> str:
        # Without a stream id (a scripted scenario line), the input position is stable.
        return event.event_id if event.event_id is not None else event.source

    def _on_step(self, step: Step, state: SessionState | None, event: SimEvent | None) -> None:
        if state is None or event is None:
            return
        kind = step.event
        if kind == "actions":
            decision = step.decision
            if decision == OFFER:
                self._offer(step, state, event)
            elif decision == BLOCKED and step.reason:
                self.counters.blocked[step.reason] += 1
            sid = state.session_id
            payload: Any = event.payload
            linked = state.conversation_id if state.conversation_linked else None
            now = self.clock.now
            source_id = event.event_id if event.event_id is not None else event.source
            note = self.notes.add(sid, linked, now, source_id, payload)
            if note is not None:
                self._note(note)
            # The user the activity belongs to (activity_key): else the anonymous session.
            key = getattr(payload, "user_id", None) or state.metadata.get("user_id") or sid
            actions = payload.actions
            self.activity.add(key, actions, now)
            if self._persist_activity and actions:
                records = [action_record(a) for a in actions]
                self._activity.setdefault(key, []).extend((action_time(r, now), r) for r in records)
        elif kind == "link" and step.decision == APPLIED and state.conversation_linked:
            self.counters.links += 1
            assert state.conversation_id is not None
            note = self.notes.link(state.session_id, state.conversation_id, self.clock.now)
            if note is not None:
                self._note(note)

    def _offer(self, step: Step, state: SessionState, event: SimEvent) -> None:
        offer = step.offer
        assert offer is not None
        self.counters.offers += 1
        self._out.append(
            Delivery.make(
                PROACTIVE_OFFER,
                product_id=self.product_id,
                session_id=state.session_id,
                body=offer.body,
                created_at=self.clock.now,
                event_ids=(self._source_id(event),),
                user_id=state.metadata.get("user_id"),
                email=state.metadata.get("email"),
                conversation_id=state.conversation_id if state.conversation_linked else None,
                trigger_id=offer.trigger_id,
                chips=tuple([c.to_dict() for c in offer.chips]),
            )
        )

    def _note(self, note: Note) -> None:
        self.counters.notes += 1
        # The buffer was emptied: persist that with the note, or a restart would send it again.
        self.store.sessions.dirty.add(note.session_id)
        state = self.store.sessions.peek(note.session_id)
        metadata = state.metadata if state is not None else {}
        self._out.append(
            Delivery.make(
                NOTE,
                product_id=self.product_id,
                session_id=note.session_id,
                body=note.body,
                created_at=self.clock.now,
                event_ids=note.event_ids,
                user_id=metadata.get("user_id"),
                email=metadata.get("email"),
                conversation_id=note.conversation_id,
            )
        )

    def _flush_due(self) -> None:
        for note in self.notes.due(self.clock.now):
            self._note(note)
