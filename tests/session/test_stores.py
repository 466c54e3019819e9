"""Session stores, memory and Redis: one interface, optimistic concurrency, typed failures."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.errors import ConfigError, InputError, SnapshotError, StoreUnavailableError
from autoplay_cli.session import (
    AgentState,
    ConcurrentUpdateError,
    ConversationLink,
    MemorySessionStore,
    RedisConversationLinkStore,
    RedisSessionStore,
    SessionState,
    SessionStore,
)

Store = MemorySessionStore | RedisSessionStore


async def raw_redis(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url)


# -- the shared interface -------------------------------------------------------


async def test_both_stores_implement_the_interface(store: Store) -> None:
    assert isinstance(store, SessionStore)


async def test_get_missing_is_none(store: Store) -> None:
    assert await store.get("nobody") is None


async def test_get_or_create_creates_and_persists(store: Store, clock: Any) -> None:
    s = await store.get_or_create("s1", {"user_id": "u1"})
    assert s.session_id == "s1" and s.metadata == {"user_id": "u1"}
    assert s.current_state is AgentState.THINKING
    assert s.clock is clock
    again = await store.get("s1")
    assert again == s
    assert await store.get_or_create("s1") == s


async def test_get_or_create_fills_missing_metadata_only(store: Store) -> None:
    await store.get_or_create("s1", {"user_id": "u1", "email": None})
    s = await store.get_or_create("s1", {"user_id": "other", "email": "a@example.com"})
    assert s.metadata == {"user_id": "u1", "email": "a@example.com"}
    assert (await store.get("s1")).metadata == s.metadata  # type: ignore[union-attr]


async def test_new_sessions_use_the_store_defaults(clock: Any) -> None:
    store = MemorySessionStore(clock=clock, interaction_timeout_s=7, cooldown_period_s=9)
    s = await store.get_or_create("s1")
    assert (s.interaction_timeout_s, s.cooldown_period_s) == (7, 9)
    with pytest.raises(InputError):
        MemorySessionStore(interaction_timeout_s=0)


async def test_save_and_get_round_trip(store: Store, clock: Any) -> None:
    s = await store.get_or_create("s1")
    s.transition_to_proactive("canonical_url_ping_pong")
    await store.save(s)
    loaded = await store.get("s1")
    assert loaded == s and loaded is not s
    assert loaded.current_state is AgentState.PROACTIVE  # type: ignore[union-attr]


async def test_states_are_independent_copies(store: Store) -> None:
    a = await store.get_or_create("s1")
    b = await store.get("s1")
    assert b is not None
    a.transition_to_reactive()
    assert b.current_state is AgentState.THINKING
    assert (await store.get("s1")).current_state is AgentState.THINKING  # type: ignore[union-attr]


async def test_save_of_a_caller_built_state(store: Store, clock: Any) -> None:
    s = SessionState("s2", {"k": 1}, clock=clock)
    await store.save(s)
    await store.save(SessionState("s2", {"k": 2}, clock=clock))  # unconditional
    assert (await store.get("s2")).metadata == {"k": 2}  # type: ignore[union-attr]


async def test_stale_save_is_a_conflict_not_a_lost_update(store: Store) -> None:
    first = await store.get_or_create("s1")
    second = await store.get("s1")
    assert second is not None
    first.metadata["a"] = 1
    await store.save(first)
    second.metadata["b"] = 2
    with pytest.raises(ConcurrentUpdateError, match="changed by another writer") as info:
        await store.save(second)
    assert "update" in (info.value.hint or "") and info.value.exit_code == 7
    assert (await store.get("s1")).metadata == {"a": 1}  # type: ignore[union-attr]
    # Saving the same object twice is fine: it tracks its own revision.
    first.metadata["c"] = 3
    await store.save(first)


async def test_delete(store: Store) -> None:
    await store.get_or_create("s1")
    await store.delete("s1")
    await store.delete("s1")
    assert await store.get("s1") is None


async def test_update_creates_then_mutates(store: Store) -> None:
    s = await store.update("s1", lambda st: st.transition_to_reactive(), metadata={"u": 1})
    assert s.current_state is AgentState.REACTIVE and s.metadata == {"u": 1}
    assert await store.get("s1") == s


async def test_update_accepts_coroutine_functions(store: Store) -> None:
    async def mutate(state: SessionState) -> None:
        await asyncio.sleep(0)
        state.metadata["n"] = 1

    assert (await store.update("s1", mutate)).metadata == {"n": 1}


async def test_update_that_raises_writes_nothing(store: Store) -> None:
    await store.get_or_create("s1")

    def boom(state: SessionState) -> None:
        state.metadata["half"] = True
        raise RuntimeError("integrator bug")

    with pytest.raises(RuntimeError):
        await store.update("s1", boom)
    assert (await store.get("s1")).metadata == {}  # type: ignore[union-attr]


async def test_unchanged_update_does_not_write(store: Store) -> None:
    s = await store.get_or_create("s1")
    stale = await store.get("s1")
    await store.update("s1", lambda st: st.tick())  # THINKING: tick changes nothing
    assert stale is not None
    stale.metadata["x"] = 1
    await store.save(stale)  # would conflict if the no-op update had bumped the revision
    assert s.metadata == {}


async def test_update_retries_on_conflict(store: Store) -> None:
    await store.get_or_create("s1")
    calls = 0

    async def racing(state: SessionState) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # another writer sneaks in between our read and our write
            other = await store.get("s1")
            assert other is not None
            other.metadata["other"] = True
            await store.save(other)
        state.metadata["mine"] = True

    s = await store.update("s1", racing)
    assert calls == 2 and store.conflicts == 1
    assert s.metadata == {"other": True, "mine": True}
    assert (await store.get("s1")).metadata == s.metadata  # type: ignore[union-attr]


async def test_update_gives_up_after_max_attempts(clock: Any) -> None:
    store = MemorySessionStore(clock=clock, max_attempts=3)
    await store.get_or_create("s1")

    async def always_loses(state: SessionState) -> None:
        other = await store.get("s1")
        assert other is not None
        other.metadata["n"] = other.metadata.get("n", 0) + 1
        await store.save(other)
        state.metadata["mine"] = True

    with pytest.raises(ConcurrentUpdateError, match="gave up after 3"):
        await store.update("s1", always_loses)
    with pytest.raises(InputError):
        MemorySessionStore(max_attempts=0)


async def test_metadata_must_be_json(store: Store) -> None:
    with pytest.raises(InputError, match="not JSON-serialisable"):
        await store.update("s1", lambda st: st.metadata.update(when=object()))


async def test_many_tasks_lose_no_updates(store: Store) -> None:
    async def bump(state: SessionState) -> None:
        n = state.metadata.get("n", 0)
        await asyncio.sleep(0)  # yield between read and write: invites a race
        state.metadata["n"] = n + 1

    async def worker() -> None:
        for _ in range(10):
            for sid in ("a", "b", "c"):
                await store.update(sid, bump)

    await asyncio.gather(*(worker() for _ in range(20)))
    for sid in ("a", "b", "c"):
        assert (await store.get(sid)).metadata["n"] == 200  # type: ignore[union-attr]
    # Tasks sharing one store object queue per key instead of racing each other.
    assert store.conflicts == 0
    assert not store._key_locks  # the per-key queues are released


async def test_persisted_state_survives_a_restart(store: Store, clock: Any) -> None:
    await store.update("s1", lambda st: st.transition_to_proactive("t"))
    clock.advance(20.5)
    s = await store.update("s1", lambda st: st.tick())
    assert s.current_state is AgentState.THINKING
    clock.advance(45)
    again = await store.get("s1")
    assert again is not None and again.cooldown_remaining_s == 15


def test_memory_store_lists_sessions(clock: Any) -> None:
    store = MemorySessionStore(clock=clock)
    asyncio.run(store.get_or_create("b"))
    asyncio.run(store.get_or_create("a"))
    assert store.session_ids() == ["a", "b"]


# -- Redis specifics ------------------------------------------------------------


def test_redis_defaults() -> None:
    store = RedisSessionStore("redis://127.0.0.1:1/0")
    assert store.key("abc") == "autoplay:session_state:abc"
    assert store.ttl_s == 86400
    for bad in (0, -5, 1.5, True):
        with pytest.raises(InputError, match="ttl_s"):
            RedisSessionStore("redis://127.0.0.1:1/0", ttl_s=bad)  # type: ignore[arg-type]


async def test_redis_layout_and_ttl(
    redis_store_factory: Callable[..., RedisSessionStore], redis_url: str, prefix: str, clock: Any
) -> None:
    store = redis_store_factory(ttl_s=3600)
    s = await store.get_or_create("s1", {"email": "a@example.com"})
    raw = await raw_redis(redis_url)
    try:
        key = prefix + "session:s1"
        fields = await raw.hgetall(key)
        ttl = await raw.ttl(key)
    finally:
        await raw.aclose()
    assert fields[b"revision"] == b"1"
    assert json.loads(fields[b"snapshot"]) == s.to_dict()
    assert json.loads(fields[b"snapshot"])["state_entered_at"] == clock.t  # epoch seconds
    assert 3500 < ttl <= 3600


async def test_redis_workers_share_state_across_clocks(
    redis_store_factory: Callable[..., RedisSessionStore], make_clock: Any
) -> None:
    early = make_clock(1_767_225_600.0)
    late = make_clock(1_767_225_600.0 + 30)
    a = redis_store_factory(clock=early)
    b = redis_store_factory(clock=late)
    await a.update("s1", lambda st: st.transition_to_reactive())
    s = await b.update("s1", lambda st: st.tick())
    assert s.current_state is AgentState.THINKING  # 30 s > 20 s timeout, in b's time
    assert s.cooldown_until == late.t + 60


async def test_redis_link_store_shares_the_connection(
    redis_store_factory: Callable[..., RedisSessionStore], prefix: str
) -> None:
    store = redis_store_factory()
    links = store.link_store()
    assert isinstance(links, RedisConversationLinkStore)
    assert links.key("c") == "autoplay:conversation_link:c"
    other = store.link_store(600, key_prefix=prefix + "link:")
    assert other.key("c") == prefix + "link:c" and other.ttl_s == 600
    await other.save(ConversationLink("s", "c"))  # the shared connection works
    assert await other.get("c") == ConversationLink("s", "c")
    await other.delete("c")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"snapshot": "{nope", "revision": "1"}, "does not hold JSON"),
        ({"snapshot": json.dumps({"version": 99}), "revision": "1"}, "version 99"),
        ({"snapshot": json.dumps({"version": 1}), "revision": "1"}, "missing 'session_id'"),
        ({"snapshot": "{}", "revision": "x"}, "no valid revision"),
    ],
)
async def test_redis_corrupt_snapshot_is_a_snapshot_error(
    redis_store_factory: Callable[..., RedisSessionStore],
    redis_url: str,
    prefix: str,
    fields: dict[str, str],
    message: str,
) -> None:
    raw = await raw_redis(redis_url)
    await raw.hset(prefix + "session:bad", mapping=fields)
    await raw.aclose()
    store = redis_store_factory()
    with pytest.raises(SnapshotError, match=message):
        await store.get("bad")
    with pytest.raises(SnapshotError):
        await store.update("bad", lambda st: None)


async def test_redis_snapshot_of_another_session(
    redis_store_factory: Callable[..., RedisSessionStore], redis_url: str, prefix: str
) -> None:
    raw = await raw_redis(redis_url)
    await raw.hset(
        prefix + "session:one",
        mapping={"snapshot": json.dumps(SessionState("two").to_dict()), "revision": "1"},
    )
    await raw.aclose()
    with pytest.raises(SnapshotError, match="holds session 'two'"):
        await redis_store_factory().get("one")


async def test_redis_wrong_key_type(
    redis_store_factory: Callable[..., RedisSessionStore], redis_url: str, prefix: str
) -> None:
    raw = await raw_redis(redis_url)
    await raw.rpush(prefix + "session:list", "a value of another kind")
    await raw.set(prefix + "session:str", "a string that is no SDK snapshot")
    await raw.aclose()
    store = redis_store_factory()
    for call in (store.get("list"), store.update("list", lambda s: None)):
        with pytest.raises(SnapshotError, match="holds a list"):
            await call
    with pytest.raises(SnapshotError, match="does not hold JSON"):
        await store.get("str")


@pytest.mark.parametrize("call", ["get", "get_or_create", "update", "save", "delete", "ping"])
async def test_redis_outage_is_typed_and_never_a_fresh_state(
    dead_redis_url: str, call: str
) -> None:
    store = RedisSessionStore(dead_redis_url, socket_timeout_s=2)
    ops = {
        "get": lambda: store.get("s1"),
        "get_or_create": lambda: store.get_or_create("s1"),
        "update": lambda: store.update("s1", lambda st: None),
        "save": lambda: store.save(SessionState("s1")),
        "delete": lambda: store.delete("s1"),
        "ping": lambda: store.ping(),
    }
    with pytest.raises(StoreUnavailableError, match="unavailable") as info:
        await ops[call]()
    err = info.value
    assert "hunter2secret" not in err.one_line() and "****" in str(err)
    assert err.exit_code == 6 and "redis-server" in (err.hint or "")
    await store.aclose()


async def test_redis_outage_midway(redis_url: str, prefix: str, tmp_path: Path) -> None:
    """A store that worked keeps raising typed errors once its server goes away."""
    from tests.support.local_redis import local_redis_server

    with local_redis_server(tmp_path) as server:
        store = RedisSessionStore(server.url, socket_timeout_s=2)
        await store.get_or_create("s1")
    with pytest.raises(StoreUnavailableError):
        await store.get_or_create("s1")
    with pytest.raises(StoreUnavailableError):
        await store.update("s1", lambda st: st.transition_to_reactive())
    await store.aclose()


async def test_many_store_objects_lose_no_updates(
    redis_store_factory: Callable[..., RedisSessionStore],
) -> None:
    stores = [redis_store_factory() for _ in range(4)]

    def bump(state: SessionState) -> None:
        state.metadata["n"] = state.metadata.get("n", 0) + 1

    async def worker(store: RedisSessionStore) -> None:
        for _ in range(25):
            await store.update("hot", bump)

    await asyncio.gather(*(worker(stores[i % 4]) for i in range(16)))
    assert (await stores[0].get("hot")).metadata["n"] == 400  # type: ignore[union-attr]
    assert sum(s.conflicts for s in stores) > 0  # the objects did race, and CAS caught it


def test_several_os_processes_lose_no_updates(redis_url: str, prefix: str) -> None:
    workers, tasks, updates = 4, 5, 10
    sessions = ["p-a", "p-b", "p-c"]
    script = Path(__file__).with_name("redis_worker.py")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                redis_url,
                prefix,
                f"w{i}",
                str(workers),
                str(tasks),
                str(updates),
                *sessions,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    async def check() -> None:
        async with RedisSessionStore(redis_url, key_prefix=prefix + "session:") as store:
            for sid in sessions:
                s = await store.get(sid)
                assert s is not None
                assert s.metadata["total"] == workers * tasks * updates
                for i in range(workers):
                    assert s.metadata[f"w{i}"] == tasks * updates
                assert s.current_state is AgentState.REACTIVE

    asyncio.run(check())


def test_redis_store_can_be_reused_under_a_new_event_loop(redis_url: str, prefix: str) -> None:
    store = RedisSessionStore(redis_url, key_prefix=prefix + "session:")
    asyncio.run(store.get_or_create("s1"))
    # A second asyncio.run: the first loop (and its connections) is gone.
    s = asyncio.run(store.update("s1", lambda st: st.transition_to_reactive()))
    assert s.current_state is AgentState.REACTIVE
    asyncio.run(store.aclose())


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/abc", "rediss://h/1x", "redis://:secret@h:1/db"]
)
def test_a_database_that_is_not_a_number_is_refused_not_taken_as_0(url: str) -> None:
    from autoplay_cli.session.stores import RedisSessionStore

    with pytest.raises(ConfigError, match="is not a number") as caught:
        RedisSessionStore(url)
    assert "secret" not in caught.value.one_line()


@pytest.mark.parametrize("url", ["redis://h", "redis://h/", "redis://h:1/15", "unix:///tmp/r.sock"])
def test_urls_with_a_database_number_or_none_are_taken(url: str) -> None:
    from autoplay_cli.session._redis import check_database

    check_database(url)  # raises for a bad one


# -- revisions across a delete (issue 18) -------------------------------------------------------


async def test_stale_save_after_delete_and_recreate_is_refused(store: Store) -> None:
    # Reader A holds revision 1 of the old session; the session is deleted (or expires)
    # and created again, so the new one is at its first revision too. A's stale save
    # must not replace it.
    await store.update("s1", lambda s: s.metadata.update(old=True))
    stale = await store.get("s1")
    assert stale is not None
    await store.delete("s1")
    fresh = await store.update("s1", lambda s: s.metadata.update(new=True))
    assert fresh.metadata == {"new": True}
    stale.metadata["lost"] = "update"
    with pytest.raises(ConcurrentUpdateError):
        await store.save(stale)
    kept = await store.get("s1")
    assert kept is not None and kept.metadata == {"new": True}


async def test_revisions_never_repeat_for_a_key_across_recreations(store: Store) -> None:
    seen = []
    for _ in range(5):
        for _ in range(3):
            state = await store.update(
                "s1", lambda s: s.metadata.update(n=s.metadata.get("n", 0) + 1)
            )
            seen.append(state._store_revision)
        await store.delete("s1")
    assert len(set(seen)) == len(seen)


async def test_redis_stale_save_after_expiry_and_recreate_is_refused(
    redis_store_factory: Callable[..., RedisSessionStore], redis_url: str, prefix: str
) -> None:
    store = redis_store_factory()
    await store.update("s1", lambda s: None)
    await store.update("s1", lambda s: s.metadata.update(v=1))
    stale = await store.get("s1")
    assert stale is not None
    raw = await raw_redis(redis_url)
    await raw.pexpire(prefix + "session:s1", 1)  # the key expires
    while await raw.exists(prefix + "session:s1"):
        await asyncio.sleep(0.01)
    await raw.aclose()
    other = redis_store_factory()  # another worker recreates it
    await other.update("s1", lambda s: s.metadata.update(v="new"))
    await other.update("s1", lambda s: s.metadata.update(w=2))
    with pytest.raises(ConcurrentUpdateError):
        await store.save(stale)
    kept = await other.get("s1")
    assert kept is not None and kept.metadata == {"v": "new", "w": 2}


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("redis://u:hunter22@h:6379/0", "hunter22"),
        ("redis://h:6379/0?password=hunter22", "hunter22"),
    ],
)
def test_store_urls_in_messages_hide_the_password_in_every_place_it_can_be(
    url: str, secret: str
) -> None:
    from autoplay_cli.session._redis import safe_url

    shown = safe_url(url)
    assert secret not in shown and "****" in shown
