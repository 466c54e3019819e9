"""The delivery manager: session lifecycle and context notes for a chatbot integration.

The integrator implements :class:`ChatWriter` (post one note to a conversation) and
calls :meth:`DeliveryManager.on_actions` from the stream, ``on_chatbot_event`` from
the chat webhook, and ``proactive_allowed`` before offering help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from autoplay_cli.errors import InputError
from autoplay_cli.session.linking import (
    ConversationEventType,
    ConversationLink,
    ConversationLinkStore,
    MemoryConversationLinkStore,
    prepare_link,
    resolve_linked_conversation_id,
)
from autoplay_cli.session.state import Clock, InvalidTransitionError, SessionState
from autoplay_cli.session.stores import (
    MemorySessionStore,
    RedisSessionStore,
    SessionStore,
    fill_metadata,
)

if TYPE_CHECKING:
    from autoplay_cli.session.tours import TourRegistry
    from autoplay_cli.wire import Payload

log = logging.getLogger(__name__)

REASON_UNLINKED_FIRST_OFFER = "ok_unlinked_first_offer"
DEFAULT_PRELINK_WINDOW_S = 300.0
DEFAULT_POST_LINK_DEBOUNCE_S = 0.15

Delivery = Literal["ignored", "buffered", "queued", "posted"]


@runtime_checkable
class ChatWriter(Protocol):
    """What the integrator implements: post one note into a conversation.

    Raise any exception when the post fails; the manager keeps the note's
    content and retries it (merged with newer activity) on the next flush.
    """

    async def post_note(self, conversation_id: str, body: str, *, session_id: str) -> None: ...


@dataclass(slots=True)
class _Buffered:
    received_at: float
    payload: Payload


def render_note(payloads: list[Payload]) -> str:
    """One note body: summaries first (they condense earlier activity), then merged actions.

    Each summary keeps its ``Session …`` header (:func:`~autoplay_cli.wire.payload_text`;
    a summary's own text form is the prose alone, as in the SDK); batches without
    actions add nothing.
    """
    from autoplay_cli.wire import ActionsPayload, payload_text

    actions = [p for p in payloads if isinstance(p, ActionsPayload) and p.actions]
    parts = [payload_text(p) for p in payloads if not isinstance(p, ActionsPayload)]
    if actions:
        parts.append(ActionsPayload.merge(actions).to_text())
    return "\n\n".join(parts)


def _has_content(payload: Payload) -> bool:
    """A summary always says something; an actions batch only when it holds actions."""
    return bool(getattr(payload, "actions", True))


class DeliveryManager:
    """Keeps each session's state and delivers its activity as notes to the linked chat.

    - Before a session is linked, its payloads are buffered (only those received
      in the last ``prelink_window_s`` seconds are kept) and flushed as ONE note
      when :meth:`on_chatbot_event` links it.
    - After linking, payloads arriving within ``post_link_debounce_s`` (wall
      time) of the first are coalesced into one note.
    - A failed post drops nothing: the content stays buffered and is retried,
      merged with newer activity, on the next flush.

    Buffers live in this process; session state and links live in the stores
    (``RedisSessionStore`` makes the link store Redis-backed as well).
    """

    def __init__(
        self,
        writer: ChatWriter,
        store: SessionStore | None = None,
        *,
        link_store: ConversationLinkStore | None = None,
        tour_registry: TourRegistry | None = None,
        clock: Clock | None = None,
        prelink_window_s: float = DEFAULT_PRELINK_WINDOW_S,
        post_link_debounce_s: float = DEFAULT_POST_LINK_DEBOUNCE_S,
    ) -> None:
        if prelink_window_s <= 0:
            raise InputError(f"prelink_window_s must be > 0, got {prelink_window_s!r}")
        if post_link_debounce_s < 0:
            raise InputError(f"post_link_debounce_s must be >= 0, got {post_link_debounce_s!r}")
        self.writer = writer
        self.store: SessionStore = store if store is not None else MemorySessionStore(clock=clock)
        if link_store is None:
            link_store = (
                self.store.link_store()
                if isinstance(self.store, RedisSessionStore)
                else MemoryConversationLinkStore()
            )
        self.link_store = link_store
        self.tour_registry = tour_registry
        self._clock = clock
        self.prelink_window_s = float(prelink_window_s)
        self.post_link_debounce_s = float(post_link_debounce_s)
        self._pending: dict[str, list[_Buffered]] = {}
        self._conversations: dict[str, str] = {}
        # Per-session flush lock and how many flushes hold or wait for it (dropped at 0).
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._last_sweep = self._now()

    def _now(self) -> float:
        if self._clock is not None:
            return float(self._clock())
        import time

        return time.time()

    # -- stream side ---------------------------------------------------------

    async def on_actions(self, payload: Payload | Mapping[str, Any]) -> Delivery:
        """Handle one stream payload (``actions`` or ``summary``; a dict is parsed).

        Returns what happened: ``"ignored"`` (anonymous session, or a batch
        with no actions: nothing to post, though its identity and
        ``conversation_id`` still apply), ``"buffered"`` (not linked yet),
        ``"queued"`` (a coalesced note will follow) or ``"posted"`` (flushed now).
        """
        if isinstance(payload, Mapping):
            from autoplay_cli.wire import parse_payload

            payload = parse_payload(dict(payload))
        sid = payload.session_id
        if not sid:
            log.debug("payload without session_id ignored (anonymous session)")
            return "ignored"
        identity = {
            key: value
            for key in ("user_id", "email")
            if (value := getattr(payload, key, None)) is not None
        }
        state = await self.store.get_or_create(sid, identity)
        now = self._now()
        conversation_id = resolve_linked_conversation_id(state)
        carried = getattr(payload, "conversation_id", None)
        if not _has_content(payload):
            # Nothing to tell the chat; a carried conversation id still links the session.
            if conversation_id is None and carried:
                await self.on_chatbot_event(sid, carried)
            return "ignored"
        self._pending.setdefault(sid, []).append(_Buffered(now, payload))
        if conversation_id is None and carried:
            # The connector already knows the chat thread: link now; that flushes the buffer.
            await self.on_chatbot_event(sid, carried)
            return "posted" if not self.pending(sid) else "buffered"
        if conversation_id is None:
            self._conversations.pop(sid, None)
            self._prune(sid, now)
            return "buffered"
        self._conversations[sid] = conversation_id
        if self.post_link_debounce_s == 0:
            return "posted" if await self.flush(sid) else "buffered"
        if sid not in self._timers or self._timers[sid].done():
            self._timers[sid] = asyncio.create_task(self._flush_later(sid))
        return "queued"

    def _prune(self, sid: str, now: float) -> None:
        """Drop pre-link payloads older than the window (for *sid*, and now and then all)."""
        horizon = now - self.prelink_window_s
        targets = [sid]
        if now - self._last_sweep >= self.prelink_window_s:
            self._last_sweep = now
            targets = [s for s in self._pending if s not in self._conversations]
        for target in targets:
            kept = [b for b in self._pending.get(target, []) if b.received_at >= horizon]
            if kept:
                self._pending[target] = kept
            else:
                self._pending.pop(target, None)

    async def _flush_later(self, sid: str) -> None:
        await asyncio.sleep(self.post_link_debounce_s)
        self._timers.pop(sid, None)
        try:
            await self.flush(sid)
        except Exception:  # a background task has nobody to raise to
            log.exception("session %s: background flush failed", sid)

    def pending(self, session_id: str) -> int:
        """How many payloads of *session_id* wait to be posted."""
        return len(self._pending.get(session_id, []))

    async def flush(self, session_id: str | None = None) -> int:
        """Post what is buffered for linked sessions (one, or all); the number of notes posted."""
        sids = [session_id] if session_id is not None else list(self._pending)
        posted = 0
        for sid in sids:
            lock, users = self._locks.setdefault(sid, (asyncio.Lock(), [0]))
            users[0] += 1
            try:
                async with lock:
                    posted += await self._flush_one(sid)
            finally:
                users[0] -= 1
                if not users[0]:
                    self._locks.pop(sid, None)
        return posted

    async def _flush_one(self, sid: str) -> int:
        items = list(self._pending.get(sid, []))
        if not items:
            return 0
        conversation_id = self._conversations.get(sid)
        if conversation_id is None:
            state = await self.store.get(sid)
            conversation_id = resolve_linked_conversation_id(state) if state else None
            if conversation_id is None:
                return 0
            self._conversations[sid] = conversation_id
        body = render_note([b.payload for b in items])
        try:
            await self.writer.post_note(conversation_id, body, session_id=sid)
        except Exception as exc:
            # Keep everything: the next flush retries it together with newer activity.
            log.warning(
                "session %s: posting a note to conversation %s failed (%s: %s); "
                "%d payload(s) kept for the next flush",
                sid,
                conversation_id,
                type(exc).__name__,
                exc,
                len(items),
            )
            return 0
        # Only this flush appends-from-the-front under the lock; newer items stay.
        remaining = self._pending.get(sid, [])[len(items) :]
        if remaining:
            self._pending[sid] = remaining
        else:
            # Nothing left to post: forget the session (the store remembers its link).
            self._pending.pop(sid, None)
            self._conversations.pop(sid, None)
        return 1

    # -- chat side -----------------------------------------------------------

    async def on_chatbot_event(
        self,
        session_id: str,
        conversation_id: str,
        metadata: Mapping[str, Any] | None = None,
        event: ConversationEventType | str | None = None,
    ) -> ConversationLink:
        """The chat reported *conversation_id* for *session_id*: link, persist, flush.

        The event is inferred when not given (REPLY_EXISTING for a conversation
        the link store knows, else NEW). *metadata* fills the keys the session
        lacks (or holds as null) and never overwrites existing ones, as
        ``get_or_create`` does. The pre-link buffer goes out as one note.
        """
        if not isinstance(session_id, str) or not session_id.strip():
            raise InputError(
                "on_chatbot_event needs a non-empty session_id",
                hint="pass the session id the chat widget reported",
            )
        if not isinstance(conversation_id, str) or not conversation_id.strip():
            raise InputError("on_chatbot_event needs a non-empty conversation_id")
        link = await prepare_link(
            self.link_store, session_id, conversation_id, event, linked_at=self._now()
        )

        def apply(state: SessionState) -> None:
            # As get_or_create does: fill keys the session lacks (or holds as null),
            # never overwrite what it already knows.
            fill_metadata(state, metadata)
            state.on_conversation_linked(link)

        state = await self.store.update(session_id, apply, metadata=metadata)
        if session_id not in self._conversations:
            # A pre-link buffer may have aged since its last payload: apply the window now.
            self._prune(session_id, self._now())
        linked = resolve_linked_conversation_id(state)
        if linked is not None:
            self._conversations[session_id] = linked
        timer = self._timers.pop(session_id, None)
        if timer is not None:
            timer.cancel()
        await self.flush(session_id)
        return link

    async def proactive_allowed(self, session_id: str) -> tuple[bool, str]:
        """May the copilot offer help now? Ticks and persists the session first.

        The rule, stated once: the answer is yes exactly when
        :meth:`record_proactive_offer` would move the session to PROACTIVE, i.e.
        when the state machine accepts the transition (THINKING, no cooldown).
        The gate never says yes where the state machine says no: not in
        PROACTIVE, not in REACTIVE (the user is chatting, linked or not), not
        during a cooldown. When it says yes, the reason tells where the offer
        goes: ``"ok_unlinked_first_offer"`` for a session with no linked
        conversation and no offer yet (the offer starts a new conversation),
        ``"ok"`` otherwise. When it says no, the reason is the state machine's
        (``v2_state_…`` or ``v2_cooldown_active``).
        """
        state = await self.store.update(session_id, lambda s: s.tick(self.tour_registry))
        allowed, reason = state.can_deliver_proactive()
        if allowed and not state.conversation_linked and state.last_trigger_id is None:
            return True, REASON_UNLINKED_FIRST_OFFER
        return allowed, reason

    async def record_proactive_offer(self, session_id: str, trigger_id: str) -> bool:
        """The offer was sent: THINKING -> PROACTIVE, persisted; ``False`` if not moved.

        ``False`` (state unchanged) exactly when :meth:`proactive_allowed` says
        no: a cooldown, or the session is PROACTIVE or REACTIVE (where the state
        machine itself raises; the manager turns that into ``False``).
        """
        moved: list[bool] = []

        def apply(state: SessionState) -> None:
            moved.clear()
            state.tick(self.tour_registry)
            try:
                moved.append(state.transition_to_proactive(trigger_id))
            except InvalidTransitionError:
                moved.append(False)

        await self.store.update(session_id, apply)
        return moved[0]

    # -- shutdown ------------------------------------------------------------

    async def drain(self) -> int:
        """Flush every session now (pending debounce timers fire early); notes posted."""
        # Only timers still sleeping are in ``_timers`` (each pops itself before
        # flushing), so cancelling them never interrupts a post in flight.
        timers, self._timers = self._timers, {}
        for task in timers.values():
            task.cancel()
        for task in timers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return await self.flush()

    async def aclose(self) -> None:
        """Drain, then close the stores."""
        await self.drain()
        for closer in (
            getattr(self.store, "aclose", None),
            getattr(self.link_store, "aclose", None),
        ):
            if closer is not None:
                await closer()
