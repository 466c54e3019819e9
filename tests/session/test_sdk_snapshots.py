"""Sessions stored by autoplay-sdk 0.7.9: its snapshots, its Redis keys, and their upgrade.

The SDK's layout is written here by hand (plain dicts, plain redis-py), from the
facts of its format: ``_v`` 1, monotonic ``last_interaction_at``, and per-state
sub-objects ``thinking`` / ``proactive`` / ``reactive``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from autoplay_cli.errors import SnapshotError
from autoplay_cli.session import AgentState, RedisSessionStore, SessionState
from autoplay_cli.session.migrate import migrate_sessions

# Stamps from time.monotonic() in the SDK's process: small numbers, meaningless here.
MONO = 84_512.25


def sdk_snapshot(
    session_id: str = "sdk-1",
    state: str = "thinking",
    *,
    cooldown: bool = False,
    cooldown_override: float | None = None,
    linked: str | None = None,
    tour: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A snapshot in the layout ``SessionState.to_dict()`` of autoplay-sdk 0.7.9 writes."""
    data: dict[str, Any] = {
        "_v": 1,
        "session_id": session_id,
        "metadata": {"user_id": "u-7", "email": "a@example.com"},
        "current_state": state,
        "last_interaction_at": MONO,
        "interaction_timeout_s": 20.0,
        "cooldown_period_s": 60.0,
        "visual_guidance_active": tour is not None,
        "active_tour_id": tour,
        "conversation_linked": linked is not None,
        "conversation_id": linked,
        "thinking": {
            "cooldown_active": cooldown,
            "cooldown_started_at": MONO - 5 if cooldown else 0.0,
            "active_cooldown_period_s": cooldown_override,
        },
        "proactive": {
            "user_clicked_option": False,
            "time_since_last_interaction_s": 3.5,
            "last_message_at": MONO,
        },
        "reactive": {"time_since_last_interaction_s": 0.0, "last_message_at": MONO},
    }
    data.update(extra)
    return data


# -- SessionState.from_dict -------------------------------------------------------------


def test_from_dict_reads_an_sdk_snapshot(clock: Any) -> None:
    s = SessionState.from_dict(
        sdk_snapshot(state="reactive_assistance", linked="conv-1"), clock=clock
    )
    assert s.session_id == "sdk-1" and s.current_state is AgentState.REACTIVE
    assert s.metadata == {"user_id": "u-7", "email": "a@example.com"}
    assert (s.conversation_linked, s.conversation_id) == (True, "conv-1")
    assert (s.interaction_timeout_s, s.cooldown_period_s) == (20.0, 60.0)
    assert s.last_trigger_id is None


@pytest.mark.parametrize("state", ["proactive_assistance", "reactive_assistance"])
def test_sdk_monotonic_stamps_are_unknown_and_the_timer_restarts_from_now(
    clock: Any, state: str
) -> None:
    s = SessionState.from_dict(sdk_snapshot(state=state), clock=clock)
    # Not MONO (which would be "ages ago" on the epoch clock and time out at once).
    assert s.last_interaction_at == clock.t and s.state_entered_at == clock.t
    assert s.tick() is False
    clock.advance(20.0)
    assert s.tick() is False  # exactly the timeout: still there
    clock.advance(0.5)
    assert s.tick() is True and s.current_state is AgentState.THINKING


@pytest.mark.parametrize(("override", "period"), [(None, 60.0), (120.0, 120.0)])
def test_sdk_running_cooldown_restarts_from_now_for_its_full_period(
    clock: Any, override: float | None, period: float
) -> None:
    s = SessionState.from_dict(sdk_snapshot(cooldown=True, cooldown_override=override), clock=clock)
    assert s.cooldown_active and s.cooldown_until == clock.t + period
    assert s.active_cooldown_period_s == period
    assert s.can_deliver_proactive() == (False, "v2_cooldown_active")
    clock.advance(period)
    assert s.can_deliver_proactive() == (True, "ok")


def test_sdk_tour_and_guidance_are_kept_outside_thinking(clock: Any) -> None:
    s = SessionState.from_dict(
        sdk_snapshot(state="proactive_assistance", tour="flow-9"), clock=clock
    )
    assert s.visual_guidance_active and s.active_tour_id == "flow-9"
    # THINKING never shows guidance, whatever the SDK's snapshot says.
    t = SessionState.from_dict(sdk_snapshot(tour="flow-9"), clock=clock)
    assert not t.visual_guidance_active and t.active_tour_id is None


@pytest.mark.parametrize(
    "change",
    [
        {"current_state": "sleeping"},  # the SDK itself falls back to THINKING
        {"interaction_timeout_s": 0},
        {"cooldown_period_s": "soon"},
        {"metadata": ["not", "a", "dict"]},
        {"thinking": None, "proactive": 7},
        {"conversation_linked": True, "conversation_id": None},
    ],
)
def test_sdk_snapshot_oddities_take_the_sdk_defaults_never_an_error(
    clock: Any, change: dict[str, Any]
) -> None:
    data = sdk_snapshot()
    data.update(change)
    s = SessionState.from_dict(data, clock=clock)
    assert s.session_id == "sdk-1"
    assert s.interaction_timeout_s > 0 and s.cooldown_period_s >= 0
    assert isinstance(s.metadata, dict) and not (s.conversation_linked and not s.conversation_id)
    minimal = SessionState.from_dict({"_v": 1, "session_id": "m"}, clock=clock)
    assert minimal.current_state is AgentState.THINKING and not minimal.cooldown_active


def test_unknown_sdk_snapshot_version_is_a_snapshot_error(clock: Any) -> None:
    with pytest.raises(SnapshotError, match="autoplay-sdk session snapshot version 2"):
        SessionState.from_dict(sdk_snapshot(_v=2), clock=clock)


@pytest.mark.parametrize(
    "data",
    [
        sdk_snapshot(),
        sdk_snapshot(cooldown=True),
        sdk_snapshot(cooldown=True, cooldown_override=15.0),
        sdk_snapshot(state="proactive_assistance", tour="flow-1", linked="c-1"),
        sdk_snapshot(state="reactive_assistance", linked="c-2"),
    ],
)
def test_sdk_snapshot_round_trips_through_our_layout(clock: Any, data: dict[str, Any]) -> None:
    s = SessionState.from_dict(json.loads(json.dumps(data)), clock=clock)
    ours = s.to_dict()
    assert ours["version"] == 1 and "_v" not in ours
    again = SessionState.from_dict(json.loads(json.dumps(ours)), clock=clock)
    assert again == s
    for key in ("session_id", "metadata", "current_state", "conversation_id"):
        assert ours[key] == data[key]
    assert ours["conversation_linked"] == data["conversation_linked"]
    assert ours["active_tour_id"] == (
        data["active_tour_id"] if data["current_state"] != "thinking" else None
    )


def test_from_dict_docstring_says_sdk_stamps_are_unknown() -> None:
    doc = SessionState.from_dict.__doc__ or ""
    assert "autoplay-sdk" in doc and "monotonic" in doc and "restart from now" in doc


# -- Redis keys in the SDK's layout ---------------------------------------------------------


async def raw_redis(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url, decode_responses=True)


async def write_sdk_key(url: str, key: str, data: dict[str, Any], ttl: int = 86_400) -> None:
    # Exactly what the SDK's Redis store does: SET key json.dumps(state.to_dict()) EX ttl.
    raw = await raw_redis(url)
    await raw.set(key, json.dumps(data), ex=ttl)
    await raw.aclose()


async def test_redis_sdk_key_is_read_without_error_and_left_as_is(
    redis_store_factory: Callable[..., RedisSessionStore], redis_url: str, prefix: str
) -> None:
    key = prefix + "session:sdk-1"
    await write_sdk_key(redis_url, key, sdk_snapshot(state="reactive_assistance", linked="c-1"))
    state = await redis_store_factory().get("sdk-1")
    assert state is not None and state.current_state is AgentState.REACTIVE
    assert state.conversation_id == "c-1"
    raw = await raw_redis(redis_url)
    assert await raw.type(key) == "string"  # a read writes nothing
    await raw.aclose()


@pytest.mark.parametrize("first_write", ["update", "get_or_create", "save"])
async def test_redis_sdk_key_is_upgraded_in_place_on_the_first_write(
    redis_store_factory: Callable[..., RedisSessionStore],
    redis_url: str,
    prefix: str,
    clock: Any,
    first_write: str,
) -> None:
    key = prefix + "session:sdk-1"
    await write_sdk_key(
        redis_url, key, sdk_snapshot(state="proactive_assistance", linked="c-1"), ttl=500
    )
    store = redis_store_factory(ttl_s=3600)
    if first_write == "update":
        state = await store.update("sdk-1", lambda s: s.record_user_interaction())
    elif first_write == "get_or_create":
        state = await store.get_or_create("sdk-1", {"plan": "pro"})
    else:
        read = await store.get("sdk-1")
        assert read is not None
        read.metadata["seen"] = True
        await store.save(read)
        state = read
    # Never reset: the state, the link and the metadata survive the upgrade.
    assert state.current_state is AgentState.PROACTIVE and state.conversation_id == "c-1"
    raw = await raw_redis(redis_url)
    assert await raw.type(key) == "hash"
    stored = await raw.hgetall(key)
    assert set(stored) == {"snapshot", "revision", "incarnation"}
    snapshot = json.loads(stored["snapshot"])
    assert snapshot["version"] == 1 and snapshot["conversation_id"] == "c-1"
    assert snapshot["last_interaction_at"] == clock.t
    assert 3500 < await raw.ttl(key) <= 3600
    await raw.aclose()
    # The timer restarted once, at the upgrade; it is not restarted by later reads.
    clock.advance(21)
    again = await store.update("sdk-1", lambda s: s.tick())
    assert again.current_state is AgentState.THINKING


async def test_redis_sdk_key_without_session_id_takes_the_keys(
    redis_store_factory: Callable[..., RedisSessionStore], redis_url: str, prefix: str
) -> None:
    await write_sdk_key(redis_url, prefix + "session:anon", sdk_snapshot(session_id=""))
    state = await redis_store_factory().update("anon", lambda s: None)
    assert state.session_id == "anon"


async def test_redis_sdk_key_rewritten_by_an_sdk_worker_meanwhile_is_read_again(
    redis_store_factory: Callable[..., RedisSessionStore], redis_url: str, prefix: str
) -> None:
    key = prefix + "session:sdk-1"
    await write_sdk_key(redis_url, key, sdk_snapshot())
    calls: list[str] = []

    async def fn(state: SessionState) -> None:
        calls.append(state.current_state.value)
        if len(calls) == 1:  # an SDK worker opens the chat between our read and write
            await write_sdk_key(redis_url, key, sdk_snapshot(state="reactive_assistance"))
        state.metadata["touched"] = len(calls)

    state = await redis_store_factory().update("sdk-1", fn)
    assert calls == ["thinking", "reactive_assistance"]
    assert state.current_state is AgentState.REACTIVE and state.metadata["touched"] == 2


# -- migrate-sessions (the library call) ------------------------------------------------------


async def test_migrate_sessions_upgrades_every_sdk_key_once(
    redis_url: str, prefix: str, redis_store_factory: Callable[..., RedisSessionStore]
) -> None:
    session_prefix = prefix + "session:"
    for i in range(7):
        await write_sdk_key(redis_url, f"{session_prefix}s{i}", sdk_snapshot(f"s{i}"), ttl=900)
    ours = redis_store_factory()
    await ours.update("already", lambda s: None)
    raw = await raw_redis(redis_url)
    await raw.set(session_prefix + "broken", "{not json")
    await raw.aclose()

    dry = await migrate_sessions(redis_url, dry_run=True, key_prefix=session_prefix)
    assert (dry.scanned, dry.upgraded, dry.current, dry.failures) == (9, 7, 1, 1)
    raw = await raw_redis(redis_url)
    assert await raw.type(session_prefix + "s3") == "string"  # the dry run wrote nothing

    done = await migrate_sessions(redis_url, key_prefix=session_prefix)
    assert (done.scanned, done.upgraded, done.current, done.failures) == (9, 7, 1, 1)
    assert done.failed[0][0] == session_prefix + "broken"
    for i in range(7):
        assert await raw.type(f"{session_prefix}s{i}") == "hash"
        assert 0 < await raw.ttl(f"{session_prefix}s{i}") <= 900  # the TTL is kept
    assert await raw.get(session_prefix + "broken") == "{not json"  # left as it was
    await raw.aclose()
    again = await migrate_sessions(redis_url, key_prefix=session_prefix)
    assert (again.upgraded, again.current, again.failures) == (0, 8, 1)


async def test_migrate_sessions_is_safe_while_workers_update(
    redis_url: str, prefix: str, redis_store_factory: Callable[..., RedisSessionStore]
) -> None:
    session_prefix = prefix + "session:"
    sids = [f"w{i}" for i in range(20)]
    for sid in sids:
        await write_sdk_key(redis_url, session_prefix + sid, sdk_snapshot(sid))

    def bump(state: SessionState) -> None:
        state.metadata["n"] = state.metadata.get("n", 0) + 1

    async def worker() -> None:
        store = redis_store_factory()
        for _ in range(5):
            for sid in sids:
                await store.update(sid, bump)

    report, *_ = await asyncio.gather(
        migrate_sessions(redis_url, key_prefix=session_prefix), worker(), worker()
    )
    assert report.failures == 0 and report.scanned == len(sids)
    assert report.upgraded + report.current == len(sids)
    check = redis_store_factory()
    for sid in sids:
        state = await check.get(sid)
        assert state is not None and state.metadata["n"] == 10  # no update lost
        assert state.metadata["user_id"] == "u-7"  # nor the SDK's data
