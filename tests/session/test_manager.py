"""The delivery manager: pre-link buffering, linking, coalescing, retries, the proactive gate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import InputError
from autoplay_cli.session import (
    AgentState,
    ChatWriter,
    ConversationEventType,
    DeliveryManager,
    MemoryConversationLinkStore,
    MemorySessionStore,
    RedisConversationLinkStore,
    RedisSessionStore,
    TourDefinition,
    TourRegistry,
)
from autoplay_cli.wire import ActionsPayload, SummaryPayload


class Writer:
    """Records posts; fails the first ``failures`` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.notes: list[tuple[str, str, str]] = []
        self.posted = asyncio.Event()

    async def post_note(self, conversation_id: str, body: str, *, session_id: str) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("chat API returned 503")
        self.notes.append((session_id, conversation_id, body))
        self.posted.set()


def batch(
    sid: str | None, *urls: str, conversation_id: str | None = None, user_id: str | None = None
) -> ActionsPayload:
    return ActionsPayload(
        product_id="acme",
        session_id=sid,
        user_id=user_id,
        forwarded_at=1.0,
        conversation_id=conversation_id,
        actions=[
            {"index": i, "type": "click", "description": f"on {u}", "canonical_url": u}  # type: ignore[misc]
            for i, u in enumerate(urls)
        ],
    )


@pytest.fixture
def writer() -> Writer:
    return Writer()


@pytest.fixture
async def manager(writer: Writer, clock: Any) -> AsyncIterator[DeliveryManager]:
    m = DeliveryManager(writer, clock=clock, post_link_debounce_s=60)
    yield m
    await m.aclose()


def test_writer_protocol() -> None:
    assert isinstance(Writer(), ChatWriter)


async def test_defaults(writer: Writer) -> None:
    m = DeliveryManager(writer)
    assert isinstance(m.store, MemorySessionStore)
    assert isinstance(m.link_store, MemoryConversationLinkStore)
    assert m.prelink_window_s == 300 and m.post_link_debounce_s == 0.15
    for kw in ({"prelink_window_s": 0}, {"post_link_debounce_s": -1}):
        with pytest.raises(InputError):
            DeliveryManager(writer, **kw)  # type: ignore[arg-type]


async def test_identity_goes_to_metadata(manager: DeliveryManager) -> None:
    await manager.on_actions(batch("s1", "/a"))
    assert (await manager.store.get("s1")).metadata == {}  # type: ignore[union-attr]
    await manager.on_actions(batch("s1", "/b", user_id="u1"))
    assert (await manager.store.get("s1")).metadata == {"user_id": "u1"}  # type: ignore[union-attr]


async def test_anonymous_payload_is_ignored(manager: DeliveryManager, writer: Writer) -> None:
    assert await manager.on_actions(batch(None, "/a")) == "ignored"
    assert writer.attempts == 0


async def test_prelink_buffer_flushed_as_one_note_at_link(
    manager: DeliveryManager, writer: Writer
) -> None:
    assert await manager.on_actions(batch("s1", "/a", "/b", user_id="u1")) == "buffered"
    assert (
        await manager.on_actions(
            {
                "type": "actions",
                "session_id": "s1",
                "actions": [{"type": "Submit", "canonical_url": "/c"}],
            }
        )
        == "buffered"
    )
    assert (
        await manager.on_actions(
            SummaryPayload(session_id="s1", summary="Browsed pricing", replaces=12)
        )
        == "buffered"
    )
    assert manager.pending("s1") == 3 and writer.attempts == 0
    state = await manager.store.get("s1")
    assert state is not None and state.metadata["user_id"] == "u1"

    link = await manager.on_chatbot_event("s1", "conv-1", {"email": "a@example.com"})
    assert link.event is ConversationEventType.NEW
    assert len(writer.notes) == 1
    sid, cid, body = writer.notes[0]
    assert (sid, cid) == ("s1", "conv-1")
    assert body.splitlines() == [
        "Session s1 — summary of 12 actions",
        "Browsed pricing",
        "",
        "Session s1 — 3 actions",
        "[0] click: on /a — /a",
        "[1] click: on /b — /b",
        "[2] submit:  — /c",
    ]
    assert manager.pending("s1") == 0
    state = await manager.store.get("s1")
    assert state is not None and state.conversation_id == "conv-1"
    assert state.metadata == {"user_id": "u1", "email": "a@example.com"}
    assert await manager.link_store.get("conv-1") == link


async def test_prelink_window_drops_stale_batches(
    manager: DeliveryManager, writer: Writer, clock: Any
) -> None:
    await manager.on_actions(batch("s1", "/old"))
    clock.advance(301)
    await manager.on_actions(batch("s1", "/new"))
    assert manager.pending("s1") == 1
    await manager.on_chatbot_event("s1", "conv-1")
    assert "/old" not in writer.notes[0][2] and "/new" in writer.notes[0][2]


async def test_prelink_window_applies_at_link_time_too(
    manager: DeliveryManager, writer: Writer, clock: Any
) -> None:
    # Nothing arrived since: the stale batch is still buffered, but must not go out.
    await manager.on_actions(batch("s1", "/old"))
    clock.advance(120)
    await manager.on_actions(batch("s1", "/recent"))
    clock.advance(200)
    await manager.on_chatbot_event("s1", "conv-1")
    assert len(writer.notes) == 1
    assert "/old" not in writer.notes[0][2] and "/recent" in writer.notes[0][2]


async def test_failed_post_link_content_is_not_aged_out(clock: Any) -> None:
    # The window is for pre-link buffering only: what a failed post kept stays.
    writer = Writer(failures=1)
    m = DeliveryManager(writer, clock=clock, post_link_debounce_s=0)
    await m.on_chatbot_event("s1", "conv-1")
    assert await m.on_actions(batch("s1", "/kept")) == "buffered"
    clock.advance(1000)
    await m.on_chatbot_event("s1", "conv-1")
    assert len(writer.notes) == 1 and "/kept" in writer.notes[0][2]
    await m.aclose()


async def test_idle_unlinked_sessions_are_swept(manager: DeliveryManager, clock: Any) -> None:
    await manager.on_actions(batch("idle", "/a"))
    clock.advance(400)
    await manager.on_actions(batch("busy", "/b"))
    assert manager.pending("idle") == 0 and manager.pending("busy") == 1


async def test_post_link_batches_are_coalesced(manager: DeliveryManager, writer: Writer) -> None:
    await manager.on_chatbot_event("s1", "conv-1")
    assert writer.attempts == 0  # nothing was buffered: nothing posted
    for url in ("/a", "/b", "/c"):
        assert await manager.on_actions(batch("s1", url)) == "queued"
    assert writer.attempts == 0
    assert await manager.drain() == 1
    assert len(writer.notes) == 1
    body = writer.notes[0][2]
    assert "Session s1 — 3 actions" in body and "[2] click: on /c — /c" in body
    # Nothing per-session is kept once everything went out.
    assert not manager._pending and not manager._locks and not manager._conversations


async def test_debounce_timer_fires_on_its_own(writer: Writer, clock: Any) -> None:
    m = DeliveryManager(writer, clock=clock, post_link_debounce_s=0.01)
    await m.on_chatbot_event("s1", "conv-1")
    await m.on_actions(batch("s1", "/a"))
    await m.on_actions(batch("s1", "/b"))
    await asyncio.wait_for(writer.posted.wait(), timeout=10)
    assert len(writer.notes) == 1 and "2 actions" in writer.notes[0][2]
    await m.aclose()


async def test_zero_debounce_posts_at_once(writer: Writer, clock: Any) -> None:
    m = DeliveryManager(writer, clock=clock, post_link_debounce_s=0)
    await m.on_chatbot_event("s1", "conv-1")
    assert await m.on_actions(batch("s1", "/a")) == "posted"
    assert len(writer.notes) == 1


async def test_failed_prelink_flush_is_kept_and_retried(
    clock: Any, session_logs: pytest.LogCaptureFixture
) -> None:
    writer = Writer(failures=2)
    m = DeliveryManager(writer, clock=clock, post_link_debounce_s=0)
    await m.on_actions(batch("s1", "/a"))
    await m.on_actions(batch("s1", "/b"))
    await m.on_chatbot_event("s1", "conv-1")
    assert writer.notes == [] and m.pending("s1") == 2
    assert "kept for the next flush" in session_logs.text
    # Still failing: the new batch joins the kept ones.
    assert await m.on_actions(batch("s1", "/c")) == "buffered"
    assert m.pending("s1") == 3
    # The writer recovers: everything goes out, once, in one note.
    assert await m.flush("s1") == 1
    assert writer.attempts == 3 and len(writer.notes) == 1
    body = writer.notes[0][2]
    assert "Session s1 — 3 actions" in body
    assert all(f"on /{c}" in body for c in "abc")
    assert m.pending("s1") == 0
    assert await m.flush() == 0


async def test_failed_post_link_flush_is_retried_by_drain(clock: Any) -> None:
    writer = Writer(failures=1)
    m = DeliveryManager(writer, clock=clock, post_link_debounce_s=60)
    await m.on_chatbot_event("s1", "conv-1")
    await m.on_actions(batch("s1", "/a"))
    assert await m.drain() == 0
    assert m.pending("s1") == 1
    await m.on_actions(batch("s1", "/b"))
    assert await m.drain() == 1
    assert "2 actions" in writer.notes[0][2]


async def test_payload_carrying_a_conversation_links_itself(
    manager: DeliveryManager, writer: Writer
) -> None:
    await manager.on_actions(batch("s1", "/a"))
    assert await manager.on_actions(batch("s1", "/b", conversation_id="conv-7")) == "posted"
    assert writer.notes[0][1] == "conv-7" and "2 actions" in writer.notes[0][2]
    state = await manager.store.get("s1")
    assert state is not None and state.conversation_id == "conv-7"


async def test_reply_existing_is_inferred_and_keeps_the_link(manager: DeliveryManager) -> None:
    first = await manager.on_chatbot_event("s1", "conv-1")
    again = await manager.on_chatbot_event("s1", "conv-1")
    assert first.event is ConversationEventType.NEW
    assert again.event is ConversationEventType.REPLY_EXISTING
    await manager.on_chatbot_event("s1", "conv-2", event="reply_existing")
    state = await manager.store.get("s1")
    assert state is not None and state.conversation_id == "conv-1"


@pytest.mark.parametrize(("sid", "cid"), [("", "c"), ("s", ""), (None, "c")])
async def test_chatbot_event_needs_ids(manager: DeliveryManager, sid: Any, cid: Any) -> None:
    with pytest.raises(InputError):
        await manager.on_chatbot_event(sid, cid)


async def test_proactive_gate(manager: DeliveryManager, clock: Any) -> None:
    await manager.on_chatbot_event("s1", "conv-1")
    # A linked session: THINKING, no cooldown.
    assert await manager.proactive_allowed("s1") == (True, "ok")
    assert await manager.record_proactive_offer("s1", "user_page_dwell") is True
    # No second offer while PROACTIVE.
    assert await manager.proactive_allowed("s1") == (False, "v2_state_proactive_assistance")
    assert await manager.record_proactive_offer("s1", "again") is False
    # The timeout is applied (and persisted) by the gate itself.
    clock.advance(20.5)
    assert await manager.proactive_allowed("s1") == (False, "v2_cooldown_active")
    state = await manager.store.get("s1")
    assert state is not None and state.current_state is AgentState.THINKING
    clock.advance(60)
    assert await manager.proactive_allowed("s1") == (True, "ok")


async def _reactive(m: DeliveryManager, sid: str) -> None:
    await m.store.update(sid, lambda s: s.transition_to_reactive())


async def _proactive(m: DeliveryManager, sid: str) -> None:
    await m.store.update(sid, lambda s: s.transition_to_proactive("t"))


async def _cooling(m: DeliveryManager, sid: str) -> None:
    await m.store.update(sid, lambda s: s.start_cooldown(30))


async def _thinking(m: DeliveryManager, sid: str) -> None:
    await m.store.get_or_create(sid)


async def _offered_before(m: DeliveryManager, sid: str) -> None:
    await m.store.update(sid, lambda s: setattr(s, "last_trigger_id", "earlier"))


GATE_CASES = {
    # state set-up: (unlinked answer, linked answer)
    "thinking": (_thinking, (True, "ok_unlinked_first_offer"), (True, "ok")),
    "thinking, offered before": (_offered_before, (True, "ok"), (True, "ok")),
    "thinking, cooling down": (
        _cooling,
        (False, "v2_cooldown_active"),
        (False, "v2_cooldown_active"),
    ),
    "proactive": (
        _proactive,
        (False, "v2_state_proactive_assistance"),
        (False, "v2_state_proactive_assistance"),
    ),
    "reactive": (
        _reactive,
        (False, "v2_state_reactive_assistance"),
        (False, "v2_state_reactive_assistance"),
    ),
}


@pytest.mark.parametrize("linked", [False, True], ids=["unlinked", "linked"])
@pytest.mark.parametrize("case", GATE_CASES)
async def test_proactive_gate_never_contradicts_the_state_machine(
    writer: Writer, clock: Any, case: str, linked: bool
) -> None:
    # The rule: proactive_allowed says yes exactly when record_proactive_offer moves the
    # session to PROACTIVE; an unlinked session's first offer is no exception to it.
    m = DeliveryManager(writer, clock=clock)
    setup, unlinked_answer, linked_answer = GATE_CASES[case]
    if linked:
        await m.on_chatbot_event("s1", "conv-1")
    await setup(m, "s1")
    before = await m.store.get("s1")
    assert before is not None
    answer = await m.proactive_allowed("s1")
    assert answer == (linked_answer if linked else unlinked_answer)
    moved = await m.record_proactive_offer("s1", "user_page_dwell")
    assert moved is answer[0]
    after = await m.store.get("s1")
    assert after is not None
    assert after.current_state is (AgentState.PROACTIVE if moved else before.current_state)


async def test_unlinked_session_first_offer_is_refused_while_reactive(
    manager: DeliveryManager,
) -> None:
    await manager.store.update("s1", lambda s: s.transition_to_reactive())
    assert await manager.proactive_allowed("s1") == (False, "v2_state_reactive_assistance")
    assert await manager.record_proactive_offer("s1", "user_page_dwell") is False
    state = await manager.store.get("s1")
    assert state is not None and state.current_state is AgentState.REACTIVE


async def test_gate_uses_tour_overrides(writer: Writer, clock: Any) -> None:
    tours = TourRegistry(
        [TourDefinition("t", "flow-1", interaction_timeout_s=100, cooldown_period_s=1)]
    )
    m = DeliveryManager(writer, clock=clock, tour_registry=tours)
    await m.on_chatbot_event("s1", "conv-1")

    def start_tour(s: Any) -> None:
        s.transition_to_reactive()
        s.set_visual_guidance(True, "flow-1")

    await m.store.update("s1", start_tour)
    clock.advance(50)
    assert await m.proactive_allowed("s1") == (False, "v2_state_reactive_assistance")
    clock.advance(50.5)
    assert await m.proactive_allowed("s1") == (False, "v2_cooldown_active")
    clock.advance(1)
    assert await m.proactive_allowed("s1") == (True, "ok")


async def test_chatbot_event_fills_missing_metadata_and_never_overwrites(
    manager: DeliveryManager,
) -> None:
    await manager.store.get_or_create("s1", {"user_id": "u1", "email": None})
    await manager.on_chatbot_event(
        "s1", "conv-1", {"user_id": "other", "email": "a@example.com", "plan": "pro"}
    )
    state = await manager.store.get("s1")
    assert state is not None
    assert state.metadata == {"user_id": "u1", "email": "a@example.com", "plan": "pro"}
    # A new session takes the metadata as given, like get_or_create.
    await manager.on_chatbot_event("s2", "conv-2", {"user_id": "u2"})
    fresh = await manager.store.get("s2")
    assert fresh is not None and fresh.metadata == {"user_id": "u2"}


async def test_actions_payload_with_no_actions_produces_no_note(
    manager: DeliveryManager, writer: Writer
) -> None:
    empty = {"type": "actions", "session_id": "s1", "actions": []}
    assert await manager.on_actions(empty) == "ignored"
    assert manager.pending("s1") == 0
    await manager.on_chatbot_event("s1", "conv-1")
    assert await manager.drain() == 0 and writer.notes == []
    # Linked: still nothing to post.
    assert await manager.on_actions(empty) == "ignored"
    assert await manager.drain() == 0 and writer.notes == []
    # An empty batch carrying the conversation id still links the session.
    carried = {"type": "actions", "session_id": "s2", "actions": [], "conversation_id": "c-9"}
    assert await manager.on_actions(carried) == "ignored"
    state = await manager.store.get("s2")
    assert state is not None and state.conversation_id == "c-9" and writer.notes == []


async def test_redis_manager_links_in_redis_across_workers(
    redis_store_factory: Callable[..., RedisSessionStore], writer: Writer, clock: Any
) -> None:
    a = DeliveryManager(writer, redis_store_factory(), clock=clock, post_link_debounce_s=0)
    b = DeliveryManager(writer, redis_store_factory(), clock=clock, post_link_debounce_s=0)
    assert isinstance(a.link_store, RedisConversationLinkStore)
    await a.on_actions(batch("s1", "/a"))
    assert (await a.on_chatbot_event("s1", "conv-1")).event is ConversationEventType.NEW
    # Worker b sees the link and the session's state written by worker a.
    assert (await b.on_chatbot_event("s2", "conv-1")).event is ConversationEventType.REPLY_EXISTING
    assert await b.on_actions(batch("s1", "/b")) == "posted"
    assert [n[1] for n in writer.notes] == ["conv-1", "conv-1"]
    assert await b.proactive_allowed("s1") == (True, "ok")


GATE_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["gate_then_offer", "open_chat", "message", "link", "tick", "offer_unchecked"]
        ),
        st.floats(min_value=0, max_value=90, allow_nan=False),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(ops=GATE_OPS)
def test_gate_and_offer_agree_under_random_sequences(ops: list[tuple[str, float]]) -> None:
    """Whatever happened before, a yes from the gate is an offer the state machine takes."""

    class Clock:
        t = 1_767_225_600.0

        def __call__(self) -> float:
            return self.t

    async def run() -> None:
        clock = Clock()
        m = DeliveryManager(Writer(), clock=clock)
        for op, dt in ops:
            clock.t += dt
            if op == "gate_then_offer":
                allowed, reason = await m.proactive_allowed("s")
                moved = await m.record_proactive_offer("s", "t")
                assert moved is allowed, reason
            elif op == "offer_unchecked":
                await m.record_proactive_offer("s", "t")  # False when refused, never raises
            elif op == "open_chat":

                def open_chat(s: Any) -> None:
                    if s.current_state is AgentState.THINKING:
                        s.transition_to_reactive()

                await m.store.update("s", open_chat)
            elif op == "message":
                await m.store.update("s", lambda s: s.record_user_interaction())
            elif op == "link":
                await m.on_chatbot_event("s", "conv-1")
            else:
                await m.store.update("s", lambda s: s.tick())

    asyncio.run(run())
