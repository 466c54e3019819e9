"""The live store offers the session-store interface without copies."""

from __future__ import annotations

from autoplay_cli.session import AgentState
from autoplay_cli.simulate import VirtualClock
from autoplay_cli.simulate.live_store import LiveSessionStore


async def test_live_store_interface() -> None:
    clock = VirtualClock(100)
    store = LiveSessionStore(clock=clock, interaction_timeout_s=5, cooldown_period_s=7)
    assert await store.get("s") is None
    state = await store.get_or_create("s", {"email": "a@b.example"})
    assert state.interaction_timeout_s == 5 and state.metadata == {"email": "a@b.example"}
    same = await store.update("s", lambda s: s.transition_to_reactive())
    assert same is state and state.current_state is AgentState.REACTIVE

    async def touch(s: object) -> None:
        s.record_user_interaction()  # type: ignore[attr-defined]

    await store.update("s", touch)
    await store.delete("s")
    assert await store.get("s") is None
    await store.save(state)
    assert await store.get("s") is state
    await store.aclose()
